/** edge-sensor, simulator source: seeded synthetic channels for building and testing flows without hardware. */
import type { NodeMessageInFlow } from 'node-red';
import { toInt } from '../core/shared/fields';
import { AnomalySpec, ChannelSpec, Simulator } from '../core/sensor/simulator';
import { formatValue, shortText } from '../core/shared/status';
import { errorText } from '../core/shared/errors';
import { emitReading, intervalMs, SensorContext, Source, SendFn } from './source';
import { outputSettings, simulatorRows } from '../core/sensor/sensor-settings';

export function createSimulatorSource(ctx: SensorContext): Source {
  const { node, def, t } = ctx;
  const { channels, anomalies } = simulatorRows(def.channels, def.anomalies);
  const every = intervalMs(ctx);
  const seed = toInt(def.seed, 1);
  const simulator = new Simulator(channels as ChannelSpec[], anomalies as AnomalySpec[], seed);
  const output = { ...outputSettings(def), topic: def.topic || 'simulator', order: channels.map((c) => c.name!) };
  let timer: NodeJS.Timeout | undefined;

  /** One sample; a failure is reported, never thrown out of a timer (that would stop Node-RED). */
  function tick(send: SendFn, trigger?: NodeMessageInFlow): Error | undefined {
    try {
      sample(send, trigger);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(errorText(err));
    }
  }

  function sample(send: SendFn, trigger?: NodeMessageInFlow): void {
    const now = Date.now();
    const values = simulator.sample(now);
    emitReading(ctx, { ts: now, values, errors: {} }, output, send, trigger);
    const first = Object.values(values)[0];
    const text = channels.length === 1 ? formatValue(first) : `${channels[0].name} ${formatValue(first)}`;
    ctx.status.set({ fill: 'blue', shape: 'dot', text: shortText(text) });
  }

  return {
    start() {
      ctx.status.now({ fill: 'blue', shape: 'ring', text: t('status.simulating') });
      timer = setInterval(() => {
        const err = tick((m) => node.send(m));
        if (err) node.error(err.message, { topic: output.topic });
      }, every);
    },
    trigger(msg, send, done) {
      done(tick(send, msg));
    },
    async stop() {
      clearInterval(timer);
    },
  };
}
