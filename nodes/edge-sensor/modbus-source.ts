/** edge-sensor, Modbus source: polls a register map through the shared edge-modbus-device connection. */
import type { Node, NodeMessageInFlow } from 'node-red';
import { ModbusDeviceHandle } from '../core/connections/config-handles';
import { toInt } from '../core/shared/fields';
import { PointDefinition } from '../core/sensor/modbus-registers';
import { ModbusPoller } from '../core/sensor/modbus-poller';
import { readingQuality, Reading } from '../core/sensor/sensor-output';
import { errorBadge, formatValue, shortText, StatusBadge } from '../core/shared/status';
import { errorText } from '../core/shared/errors';
import { emitReading, intervalMs, SensorContext, Source, SendFn } from './source';
import { normalizePoints, outputSettings, unitOverride } from '../core/sensor/sensor-settings';

/** Polls asked for by input messages that may wait behind a slow device; more are refused with an error. */
const MAX_WAITING_POLLS = 10;

export function createModbusSource(ctx: SensorContext): Source {
  const { RED, node, def, t } = ctx;
  const device = RED.nodes.getNode(def.device) as (Node & ModbusDeviceHandle) | null;
  if (!device) throw new Error(t('errors.noDevice'));
  // checked by sensorProblems before a source is made
  const points = normalizePoints(def.points);
  const maxGap = toInt(def.maxGap, 0);
  const override = unitOverride(def.unitId);
  const every = intervalMs(ctx);

  const poller = new ModbusPoller(points as PointDefinition[], {
    defaultUnitId: override ?? device.defaultUnitId,
    maxGap,
  });
  const output = {
    ...outputSettings(def),
    topic: def.topic || device.name || 'modbus',
    units: poller.units(),
    order: points.map((p) => p.name!),
  };
  let timer: NodeJS.Timeout | undefined;
  let overruns = 0;
  let unsubscribe: () => void = () => undefined;
  let connectionBadge: StatusBadge = {};
  let stopped = false;
  // Polls run one after another: the interval's and those asked for by input messages.
  let chain: Promise<unknown> = Promise.resolve();
  let active = 0;

  const connected = () => device.connection?.state === 'connected';

  function pollBadge(reading: Reading): StatusBadge {
    const quality = readingQuality(reading);
    const good = Object.keys(reading.values).length;
    if (quality === 'bad') return errorBadge(Object.values(reading.errors)[0] ?? t('status.bad'));
    const text = points.length === 1 ? formatValue(Object.values(reading.values)[0]) : t('status.points', { good, total: points.length });
    return { fill: quality === 'good' ? 'green' : 'yellow', shape: 'dot', text: shortText(text) };
  }

  async function poll(send: SendFn, trigger?: NodeMessageInFlow): Promise<Error | undefined> {
    const connection = device!.connection;
    if (!connection) return new Error(t('errors.deviceConfig', { problem: device!.problem ?? '' }));
    const reading = await poller.poll(connection);
    // a poll that ends after the node was stopped (a redeploy) sends nothing
    if (stopped) return undefined;
    if (!connected()) ctx.status.now(connectionBadge);
    else if (readingQuality(reading) === 'bad') ctx.status.now(pollBadge(reading));
    else ctx.status.set(pollBadge(reading));
    return emitReading(ctx, reading, output, send, trigger);
  }

  function schedule(send: SendFn, trigger?: NodeMessageInFlow): Promise<Error | undefined> {
    active++;
    const run = chain.then(() => (stopped ? undefined : poll(send, trigger))).finally(() => { active--; });
    chain = run.catch(() => undefined);
    return run;
  }

  return {
    start() {
      // Every change of the connection shows at once; while connected, each poll then shows its own result.
      unsubscribe = device.onStatus((badge) => {
        connectionBadge = badge;
        ctx.status.now(badge);
      });
      device.connection?.register(node.id);
      timer = setInterval(() => {
        if (active > 0) {
          // the previous poll is still running: skip rather than queue polls behind a slow device
          overruns++;
          if (overruns === 1 || overruns % 100 === 0) node.warn(t('errors.overrun', { count: overruns }));
          return;
        }
        schedule((m) => node.send(m)).then(
          (err) => err && node.error(err.message, {}),
          (err) => node.error(errorText(err), {}),
        );
      }, every);
    },
    trigger(msg, send, done) {
      if (active >= MAX_WAITING_POLLS) {
        done(new Error(t('errors.busy', { count: active })));
        return;
      }
      schedule(send, msg).then((err) => done(err), (err) => done(err instanceof Error ? err : new Error(errorText(err))));
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await chain;
      await device.connection?.deregister(node.id);
    },
  };
}
