/** edge-sensor, MQTT source: a subscription on the shared edge-mqtt-broker connection. */
import type { Node, NodeMessage } from 'node-red';
import { MqttBrokerHandle } from '../core/connections/config-handles';
import { toInt, toNumber } from '../core/shared/fields';
import { QoS } from '../core/connections/mqtt-connection';
import { extractMeasurement, parsePayload, PayloadFormat, ExtractOptions, Extracted } from '../core/sensor/payload';
import { Result } from '../core/shared/message';
import { errorBadge, formatValue, shortText, StatusBadge } from '../core/shared/status';
import { errorText } from '../core/shared/errors';
import { SensorContext, Source } from './source';

export function createMqttSource(ctx: SensorContext): Source {
  const { RED, node, def, t } = ctx;
  const broker = RED.nodes.getNode(def.broker) as (Node & MqttBrokerHandle) | null;
  if (!broker) throw new Error(t('errors.noBroker'));
  // the filter, QoS, format and paths were checked by sensorProblems before a source is made
  const filter = (def.subscription ?? '').trim();
  const qos = toInt(def.qos, 0);
  const format = (def.format || 'auto') as PayloadFormat;
  const maxBytes = Math.round(toNumber(def.maxPayloadKb, 256) * 1024);
  const extract: ExtractOptions = {
    valuePath: def.valueMode === 'path' ? (def.valuePath ?? '').trim() : '',
    tsPath: def.tsPath === undefined ? 'auto' : def.tsPath.trim(),
    qualityPath: (def.qualityPath ?? '').trim(),
    allowText: format === 'string',
  };
  let expression: ReturnType<typeof RED.util.prepareJSONataExpression> | undefined;
  if (def.valueMode === 'jsonata') {
    try {
      expression = RED.util.prepareJSONataExpression(def.valueExpr, node);
    } catch (err) {
      throw new Error(t('errors.jsonata', { error: errorText(err) }));
    }
  }
  const badPayloadAsQuality = def.onBadPayload === 'quality';
  let unsubscribe: (removed: boolean) => void = () => undefined;
  let unwatch: () => void = () => undefined;
  let connectionBadge: StatusBadge = {};
  const received = { ok: 0, bad: 0 };
  let stopped = false;

  function reject(topic: string, raw: Buffer, reason: string): void {
    if (stopped) return;
    received.bad++;
    ctx.status.alert(errorBadge(t('status.badPayload')));
    const text = t('errors.payload', { topic: topic.slice(0, 200), reason });
    if (badPayloadAsQuality) {
      node.send({ topic: def.topic || topic, payload: null, ts: Date.now(), quality: 'bad', error: text } as NodeMessage);
    } else {
      // the first KiB only: the whole of a huge payload is never turned into a string
      node.error(text, { topic, payload: raw.subarray(0, 1024).toString('utf8') });
    }
  }

  function deliver(topic: string, result: Result<Extracted>, raw: Buffer): void {
    // a JSONata evaluation can finish after the node was stopped
    if (stopped) return;
    if (!result.ok) return reject(topic, raw, result.error);
    received.ok++;
    const { value, ts, quality } = result.value;
    node.send({ topic: def.topic || topic, payload: value, ts, quality: quality ?? 'good' } as NodeMessage);
    ctx.status.set(() => ({ fill: 'green', shape: 'dot', text: shortText(formatValue(value)) }));
  }

  function onMessage(topic: string, raw: Buffer): void {
    const arrived = Date.now();
    const parsed = parsePayload(raw, format, maxBytes);
    if (!parsed.ok) return reject(topic, raw, parsed.error);
    if (!expression) return deliver(topic, extractMeasurement(parsed.value, extract, arrived), raw);
    RED.util.evaluateJSONataExpression(expression, { topic, payload: parsed.value } as NodeMessage, (err, value) => {
      if (err) return reject(topic, raw, t('errors.jsonata', { error: errorText(err) }));
      deliver(topic, extractMeasurement(parsed.value, { ...extract, picked: value }, arrived), raw);
    });
  }

  return {
    start() {
      unwatch = broker.onStatus((badge) => {
        connectionBadge = badge;
        ctx.status.now(badge);
      });
      const connection = broker.connection;
      if (!connection) return;
      connection.register(node.id);
      unsubscribe = connection.subscribe(filter, qos as QoS, onMessage);
    },
    trigger(_msg, _send, done) {
      // Nothing to poll: an MQTT source delivers as messages arrive. Answer with what it has seen.
      done(new Error(t('errors.mqttInput', { ok: received.ok, bad: received.bad, state: connectionBadge.text ?? '' })));
    },
    async stop(removed) {
      stopped = true;
      unsubscribe(removed);
      unwatch();
      await broker.connection?.deregister(node.id);
    },
  };
}
