/**
 * `npm run bench -- cost`: bytes to the cloud for one simulated hour of the demo pump at 10 Hz on 4 channels.
 *
 * The same readings go, in the same Node-RED runtime, both ways to one mosquitto:
 * - raw: one JSON publish per reading through core `mqtt out` (QoS 1), as a flow without our nodes forwards them;
 * - the pipeline: edge-filter -> 1-minute statistics (edge-aggregate) and 10 s feature windows -> edge-infer
 *   (the demo's anomaly model) -> only flagged anomalies (core switch), edge-alarm on the readings and the
 *   anomaly flag, and edge-uplink with the column layout, alarms sent at once, bulk in batches of 60 or a minute.
 * Each connection goes through a link proxy that counts every byte of it both ways (MQTT packets with their
 * headers, acknowledgements and pings). A cloud subscriber counts the alarm events and anomalies that arrive;
 * taps count those the edge emitted. Both must agree.
 *
 * Time: the readings carry their simulated timestamps (msg.ts), and windows and alarm delays follow them. What
 * runs on the wall clock (the uplink's batch wait, MQTT keepalive) is scaled by the same factor the hour is run
 * at (60 by default: the hour in a minute, EDGE_COST_SPEED to change it), so pings and batch timing are those of
 * a real hour.
 */
import mqtt from 'mqtt';
import { Simulator } from '../nodes/core/sensor/simulator';
import { ModelStore } from '../nodes/core/models/model-store';
import { decodePublish, Envelope } from '../nodes/core/uplink/uplink-batch';
import { PUMP_CHANNELS, PUMP_FAULTS } from '../scripts/lib/pump';
import { buildZoo } from '../scripts/lib/model-zoo';
import { LinkProxy } from '../scripts/lib/link-proxy';
import { Mosquitto } from '../scripts/lib/mosquitto';
import { freePort, waitFor } from '../scripts/lib/net-util';
import { deploy, node, scratchDir, taps } from './runtime';
import { figure, Figure } from './report';

const HOUR_MS = 3_600_000;
const SAMPLE_MS = 100;
const TOPIC = 'plant1/pump7';
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

/** the simulated hour's readings: the demo pump's process with its faults, every 100 ms */
function readings(): Array<{ ts: number; payload: Record<string, number> }> {
  const sim = new Simulator(PUMP_CHANNELS, PUMP_FAULTS, 7);
  const out: Array<{ ts: number; payload: Record<string, number> }> = [];
  for (let t = 0; t < HOUR_MS; t += SAMPLE_MS) {
    const v = sim.sample(T0 + t);
    out.push({ ts: T0 + t, payload: { vibration: v.vibration, temperature: v.temperature, pressure: v.pressure, speed: v.speed } });
  }
  return out;
}

/** The pipeline of the demo's examples, set up to send what the cloud needs and no more. */
function pipelineFlow(store: string, cloudPort: number, rawPort: number, speed: number, statistics: object): object[] {
  const keepalive = String(Math.max(1, Math.round(60 / speed)));
  // edge-alarm's delays and windows run on the gateway's clock
  const seconds = (s: number) => String(s / speed);
  return [
    { id: 'src', type: 'bench-pass', wires: [['raw-out', 'filter', 'alarm']] },
    // raw forwarding: a flow without our nodes
    { id: 'core-broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(rawPort), clientid: 'raw-gateway', autoConnect: true, usetls: false, protocolVersion: '4', keepalive, cleansession: true },
    { id: 'raw-out', type: 'mqtt out', topic: `raw/site1/${TOPIC}`, qos: '1', retain: 'false', broker: 'core-broker', wires: [] },
    // the pipeline
    { id: 'filter', type: 'edge-filter', key: 'topic', property: 'payload.temperature', quality: 'good-uncertain', min: '-20', max: '150', rangeAction: 'drop',
      outlier: 'mad', outlierWindow: '40', outlierThreshold: '6', stepAfter: '4', deadband: 'none', deadbandValue: '0', deadbandCompare: 'sent', heartbeat: '',
      rate: 'none', rateInterval: '1', reportSuppressed: false, maxStreams: '1000', wires: [['stats', 'features'], []] },
    { id: 'stats', type: 'edge-aggregate', key: 'topic', window: 'tumbling', size: '60', hop: '', align: 'clock', time: 'event', lateness: '0', partial: 'flush',
      statistics: 'count,mean,min,max,stddev', output: 'stats', featureSource: 'stats', points: '32', layout: 'channel-major', channels: '', maxStreams: '1000',
      maxSamples: '100000', precision: '4', ...statistics, wires: [['up', 'edge-statistics'], []] },
    { id: 'features', type: 'edge-aggregate', key: 'topic', window: 'hopping', size: '10', hop: '5', align: 'clock', time: 'event', lateness: '0', partial: 'drop',
      statistics: 'mean,stddev', output: 'features', featureSource: 'stats', points: '32', layout: 'channel-major', channels: 'vibration,temperature,pressure,speed',
      maxStreams: '1000', maxSamples: '100000', precision: '', wires: [['infer'], []] },
    { id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: store, file: '', pollInterval: '60' },
    { id: 'infer', type: 'edge-infer', model: 'model', mode: 'anomaly', output: '', topK: '3', transform: 'none', threshold: '', nan: 'reject', maxBatch: '1', batchWait: '10',
      concurrency: '1', queueSize: '100000', overflow: 'error', threads: '1', maxValues: '100000', wires: [['flagged', 'alarm']] },
    { id: 'flagged', type: 'switch', property: 'payload.anomaly', propertyType: 'msg', rules: [{ t: 'true' }], checkall: 'true', repair: false, outputs: 1, wires: [['up', 'edge-anomalies']] },
    { id: 'alarm', type: 'edge-alarm', floodMax: '10', floodMinutes: seconds(10), chatterMax: '5', chatterSeconds: seconds(60), persist: false, alarms: [
      { id: 'high temperature', path: 'payload.temperature', kind: 'high', limit: '68', setpoint: '', deadband: '1', onDelay: seconds(3), offDelay: '0', priority: '700', latching: false, unit: '°C', message: '{{id}}: {{value}} {{unit}} above {{limit}}' },
      { id: 'high vibration', path: 'payload.vibration', kind: 'high', limit: '6', setpoint: '', deadband: '0.5', onDelay: seconds(2), offDelay: '0', priority: '600', latching: false, unit: 'mm/s', message: '{{id}}: {{value}} {{unit}}' },
      { id: 'pump anomaly', path: 'payload.anomaly', kind: 'flag', limit: '', setpoint: '', deadband: '0', onDelay: '0', offDelay: seconds(10), priority: '800', latching: false, unit: '', message: '{{id}}: the model scores pump 7 as abnormal' },
    ], wires: [['up', 'edge-alarms'], []] },
    { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${cloudPort}`, clientId: 'site1-gateway', protocolVersion: '4', clean: true, keepalive, rejectUnauthorized: true },
    // as the demo: bulk waits up to a minute (scaled) for a batch of 60; alarms go at once
    { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/site1', qos: '1', retain: false, format: 'columns', gzip: false, maxRecords: '60',
      batchWait: String(Math.round(60_000 / speed)), urgent: 'alarm/#', maxPacketKb: '128', durability: 'group', groupMs: '20', maxSizeMb: '100', maxAgeH: '0',
      onFull: 'drop-oldest', rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0', userProperties: '',
      wires: [['up-stats'], []] },
    { id: 'up-stats', type: 'bench-tap', wires: [] },
    { id: 'edge-anomalies', type: 'bench-tap', wires: [] },
    { id: 'edge-alarms', type: 'bench-tap', wires: [] },
    { id: 'edge-statistics', type: 'bench-tap', wires: [] },
  ];
}

interface Counted {
  records: number;
  alarms: number;
  anomalies: number;
  statistics: number;
  publishes: number;
  /** payload bytes of the publishes with alarm events in them and of the others */
  alarmBytes: number;
  bulkBytes: number;
  /** billed message units: AWS IoT Core meters payload + topic in 5 KB steps, Azure IoT Hub the payload in 4 KB */
  awsUnits: number;
  azureUnits: number;
}

/**
 * List prices as published for US East at the time of writing: AWS IoT Core messaging $1.00 per million messages
 * (the first billion a month); Azure IoT Hub S1 $25 a month per unit of 400,000 messages a day.
 */
const AWS_USD_PER_MESSAGE = 1 / 1_000_000;
const AZURE_S1_USD_PER_UNIT_MONTH = 25;
const AZURE_S1_MESSAGES_PER_DAY = 400_000;
const HOURS_PER_MONTH = 730;

function meter(c: { awsUnits: number; azureUnits: number }, topic: string, payload: Buffer): void {
  c.awsUnits += Math.max(1, Math.ceil((payload.length + Buffer.byteLength(topic)) / 5120));
  c.azureUnits += Math.max(1, Math.ceil(payload.length / 4096));
}

function cloudCounter(url: string): Promise<{ counted: Counted; raw: { publishes: number; awsUnits: number; azureUnits: number }; client: mqtt.MqttClient }> {
  const counted: Counted = { records: 0, alarms: 0, anomalies: 0, statistics: 0, publishes: 0, alarmBytes: 0, bulkBytes: 0, awsUnits: 0, azureUnits: 0 };
  const raw = { publishes: 0, awsUnits: 0, azureUnits: 0 };
  const seen = new Set<string>();
  return mqtt.connectAsync(url, { clientId: 'bench-cloud-cost' }).then(async (client) => {
    client.on('message', (topic, payload) => {
      if (topic.startsWith('raw/')) {
        raw.publishes++;
        meter(raw, topic, payload);
        return;
      }
      counted.publishes++;
      meter(counted, topic, payload);
      const envelopes: Envelope[] = decodePublish(payload);
      if (envelopes.some((e) => e.topic.startsWith('alarm/'))) counted.alarmBytes += payload.length;
      else counted.bulkBytes += payload.length;
      for (const e of envelopes) {
        if (seen.has(e.id)) continue; // at least once: a resend is counted once
        seen.add(e.id);
        counted.records++;
        const p = e.payload as Record<string, unknown>;
        if (e.topic.startsWith('alarm/')) counted.alarms++;
        else if (p && p.anomaly === true) counted.anomalies++;
        else counted.statistics++;
      }
    });
    await client.subscribeAsync(['cloud/#', 'raw/#'], { qos: 1 });
    return { counted, raw, client };
  });
}

export async function benchCost(): Promise<Figure[]> {
  const zoo = buildZoo();
  const store = ModelStore.shared(scratchDir('cost-models'));
  const anomaly = zoo.models.find((m) => m.name === 'pump-anomaly')!;
  store.install(anomaly.manifest, anomaly.onnx);
  store.activate(anomaly.manifest.name, anomaly.manifest.version);
  const figures = await simulatedHour(store.root, {}, '');
  // the same hour with the statistics sent by exception: a mean 5 % away from the last one sent, or every 10 min
  const byException = await simulatedHour(store.root, { exception: 'percent', exceptionBand: '5', exceptionHeartbeat: '600' }, '_statistics_by_exception');
  const kept = ['cost_bytes_reduction_factor', 'cost_statistics_at_cloud', 'cost_alarm_events_at_cloud', 'cost_anomalies_at_cloud'];
  return [...figures, ...byException.filter((f) => kept.some((k) => f.bench === `${k}_statistics_by_exception`))];
}

/** One simulated hour both ways; `statistics`: settings of the 1 min statistics node; `suffix`: of the figures' names. */
async function simulatedHour(storeDir: string, statistics: object, suffix: string): Promise<Figure[]> {
  const speed = Number(process.env.EDGE_COST_SPEED ?? 60);
  const mosquitto = new Mosquitto();
  await mosquitto.start();
  const target = { host: '127.0.0.1', port: mosquitto.port };
  const cloudLink = new LinkProxy(await freePort(), target);
  const rawLink = new LinkProxy(await freePort(), target);
  await cloudLink.restore();
  await rawLink.restore();
  const cloud = await cloudCounter(`mqtt://127.0.0.1:${mosquitto.port}`);
  const edge = { alarms: 0, anomalies: 0, statistics: 0 };
  taps.set('edge-alarms', () => edge.alarms++);
  taps.set('edge-anomalies', () => edge.anomalies++);
  taps.set('edge-statistics', () => edge.statistics++);
  let uplink: Record<string, number> = {};
  taps.set('up-stats', (msg) => { uplink = msg.payload as Record<string, number>; });
  try {
    const data = readings();
    await deploy(pipelineFlow(storeDir, cloudLink.port, rawLink.port, speed, statistics));
    const src = node('src');
    // a CONNACK back on both links
    await waitFor(() => cloudLink.bytes.fromTarget > 0 && rawLink.bytes.fromTarget > 0, 'both links connected', 30_000);
    // the hour, paced: each reading goes when its simulated time has come on the scaled clock
    const started = Date.now();
    let next = 0;
    await new Promise<void>((resolve) => {
      const feed = () => {
        const due = Math.min(data.length, Math.floor(((Date.now() - started) * speed) / SAMPLE_MS) + 1);
        for (; next < due; next++) src.receive({ topic: TOPIC, payload: data[next].payload, ts: data[next].ts, quality: 'good' });
        if (next < data.length) setTimeout(feed, 5);
        else resolve();
      };
      feed();
    });
    // the last window closes with a sample past its end: one reading after the hour, as the next hour would start
    src.receive({ topic: TOPIC, payload: data[data.length - 1].payload, ts: T0 + HOUR_MS + 1000, quality: 'good' });
    await waitFor(() => cloud.raw.publishes === data.length + 1, 'every raw reading at the cloud', 120_000);
    const stats = () => { node('up').receive({ command: 'stats' }); return uplink; };
    await waitFor(() => stats().queued === 0 && uplink.sent > 0 && cloud.counted.records === uplink.sent, 'the uplink drained and every record at the cloud', 120_000);
    await waitFor(() => cloud.counted.alarms === edge.alarms && cloud.counted.anomalies === edge.anomalies && cloud.counted.statistics === edge.statistics,
      'every alarm event, anomaly and statistics record at the cloud', 60_000);
    const rawBytes = rawLink.bytes.toTarget + rawLink.bytes.fromTarget;
    const ourBytes = cloudLink.bytes.toTarget + cloudLink.bytes.fromTarget;
    const hours = (data.length * SAMPLE_MS) / HOUR_MS;
    const monthly = (units: number) => (units / hours) * HOURS_PER_MONTH;
    // a gateway's share of S1 units: its messages a day over what a unit allows a day
    const azure = (units: number) => ((units / hours) * 24 / AZURE_S1_MESSAGES_PER_DAY) * AZURE_S1_USD_PER_UNIT_MONTH;
    const per = 'one JSON publish per reading through core mqtt out, QoS 1 (both directions, with acknowledgements and pings)';
    const computed = 'computed';
    return [
      figure(`cost_wire_bytes_per_hour${suffix}`, ourBytes / hours, 'bytes/h', rawBytes / hours, per, computed),
      figure(`cost_bytes_reduction_factor${suffix}`, rawBytes / ourBytes, 'x', 100, 'the goal: a hundred times fewer bytes', computed),
      figure(`cost_publishes_per_hour${suffix}`, cloud.counted.publishes / hours, 'publishes/h', cloud.raw.publishes / hours, 'one publish per reading', computed),
      figure(`cost_bytes_to_broker_per_hour${suffix}`, cloudLink.bytes.toTarget / hours, 'bytes/h', rawLink.bytes.toTarget / hours, `${per}, gateway to broker only`, computed),
      figure(`cost_alarm_events_at_cloud${suffix}`, cloud.counted.alarms, 'events', edge.alarms, 'alarm events edge-alarm emitted at the edge', computed),
      figure(`cost_anomalies_at_cloud${suffix}`, cloud.counted.anomalies, 'anomalies', edge.anomalies, 'anomalies edge-infer flagged at the edge', computed),
      figure(`cost_statistics_at_cloud${suffix}`, cloud.counted.statistics, 'records', edge.statistics, '1 min statistics edge-aggregate emitted at the edge', computed),
      figure(`cost_statistics_records_per_hour${suffix}`, cloud.counted.statistics / hours, 'records/h', data.length / hours, 'raw readings per hour', computed),
      figure(`cost_payload_bytes_per_hour_publishes_with_alarms${suffix}`, cloud.counted.alarmBytes / hours, 'bytes/h', (cloud.counted.alarmBytes + cloud.counted.bulkBytes) / hours, 'all payload bytes of the pipeline', computed),
      figure(`cost_aws_iot_core_usd_per_gateway_month${suffix}`, monthly(cloud.counted.awsUnits) * AWS_USD_PER_MESSAGE, 'USD', monthly(cloud.raw.awsUnits) * AWS_USD_PER_MESSAGE,
        'raw forwarding; messaging at $1.00 per million 5 KB units', computed),
      figure(`cost_azure_iot_hub_usd_per_gateway_month${suffix}`, azure(cloud.counted.azureUnits), 'USD', azure(cloud.raw.azureUnits),
        'raw forwarding; S1 at $25 a month per 400,000 4 KB messages a day, shared by gateways', computed),
    ];
  } finally {
    for (const id of ['edge-alarms', 'edge-anomalies', 'edge-statistics', 'up-stats']) taps.delete(id);
    await deploy([]);
    await cloud.client.endAsync(true);
    await cloudLink.cut();
    await rawLink.cut();
    await mosquitto.dispose();
  }
}
