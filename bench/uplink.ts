/**
 * edge-uplink figures, each against its baseline in the same run (messages fed as a flow delivers them: a hundred
 * per event-loop turn, not one synchronous loop):
 * - messages accepted per second (done() called, the record on disk) for each durability mode, vs raw
 *   better-sqlite3 inserts with the same flush policy;
 * - records delivered to mosquitto per second, OS-buffered and with group commit, vs core Node-RED's `join` (500)
 *   wired to `mqtt out` at QoS 1 delivering the same burst (they keep nothing on disk); and vs one mqtt.js publish
 *   per message, the way a flow ending in `mqtt out` alone sends;
 * - the drain of a backlog of 100,000 records stored while the broker was away vs the drain of mqtt.js's in-memory
 *   offline queue holding the same batches (core `mqtt out` keeps no backlog at all: it drops while disconnected);
 * - bytes on the wire per reading for the defaults and for each encoding (counted from the packets, not timed);
 * - process RSS with 1,000,000 records queued and draining vs with an empty queue (child processes).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { Mosquitto } from '../scripts/lib/mosquitto';
import { waitFor } from '../scripts/lib/net-util';
import { decodePublish } from '../nodes/core/uplink/uplink-batch';
import { deploy, node, scratchDir, settled, STATE_DIR } from './runtime';
import { figure, Figure, median, sideBySide } from './report';

const dir = scratchDir('uplink');
let files = 0;
const freshFile = () => path.join(dir, `raw-${files++}.db`);

/** A reading as the demo's sensors send it. */
const reading = (i: number) => ({ value: Math.round((60 + Math.sin(i / 50) * 5) * 100) / 100, unit: '°C', quality: 'good', ts: 1_700_000_000_000 + i * 500 });
const TOPIC = 'plant1/pump1/temperature';
const BATCH = 500;

/** A burst as a flow delivers it: a hundred messages per event-loop turn. */
async function feed(target: { receive(msg: object): void }, count: number): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    for (let k = i; k < Math.min(count, i + 100); k++) target.receive({ _msgid: 'bench', topic: TOPIC, payload: reading(k) });
    await settled();
  }
}

function uplinkDef(url: string, extra: object = {}): object[] {
  return [
    { id: 'cloud', type: 'edge-mqtt-broker', url, clientId: `bench-uplink-${files++}`, protocolVersion: '4', clean: true, keepalive: 60, rejectUnauthorized: true },
    { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', qos: '1', retain: false, format: 'json', gzip: false,
      maxRecords: '500', batchWait: '50', maxPacketKb: '128', durability: 'group', groupMs: '20', maxSizeMb: '1000', maxAgeH: '0',
      onFull: 'drop-oldest', rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0',
      userProperties: '', wires: [['stats'], []], ...extra },
    { id: 'stats', type: 'helper', wires: [] },
  ];
}

/**
 * The flow plus a Complete node that sees done() of each message: for counting acceptance only (it clones every
 * message, work the delivery baselines do not do).
 */
const withCompletions = (flow: object[]): object[] => [
  ...flow,
  { id: 'complete', type: 'complete', scope: ['up'], uncaught: false, wires: [['completed']] },
  { id: 'completed', type: 'helper', wires: [] },
];

/** edge-uplink as the palette gives it: only the broker and the topic set. */
function paletteUplinkDef(url: string): object[] {
  const [broker, , ...rest] = uplinkDef(url);
  return [broker, { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', wires: [['stats'], []] }, ...rest];
}

/** Deploys an uplink with an empty buffer (each measurement starts from nothing queued). */
async function deployUplink(url: string, extra: object = {}, beforeStart?: Parameters<typeof deploy>[1], flow = uplinkDef(url, extra)): Promise<void> {
  await deploy([]);
  fs.rmSync(path.join(STATE_DIR, 'uplink'), { recursive: true, force: true });
  await deploy(flow, beforeStart);
}

/** The uplink's statistics (output 1). */
function uplinkStats(): Promise<{ queued: number }> {
  return new Promise((resolve) => {
    node('stats').once('input', (msg: { payload: { queued: number } }) => resolve(msg.payload));
    node('up').receive({ command: 'stats' });
  });
}

/** Messages per second that edge-uplink accepts (done() called): the broker is unreachable, so nothing drains. */
async function acceptRate(durability: string, count: number): Promise<number> {
  let done = 0;
  const url = 'mqtt://127.0.0.1:1';
  await deployUplink(url, {}, (n) => n('completed').on('input', () => done++), withCompletions(uplinkDef(url, { durability })));
  const t0 = performance.now();
  // each message is accepted once its record is on disk
  await feed(node('up'), count);
  await waitFor(() => done >= count, `${count} accepted`, 300_000);
  return count / ((performance.now() - t0) / 1000);
}

/** Raw better-sqlite3 inserts into the same table shape, with the same flush policy. */
function rawInsertRate(synchronous: 'FULL' | 'OFF', perTransaction: number, count: number): number {
  const db = new Database(freshFile());
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE records (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, ts INTEGER NOT NULL, enqueued INTEGER NOT NULL, bytes INTEGER NOT NULL, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO records (topic, ts, enqueued, bytes, body) VALUES (?, ?, ?, ?, ?)');
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const body = JSON.stringify(reading(i));
      insert.run(TOPIC, Date.now(), Date.now(), body.length + TOPIC.length, body);
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < count; i += perTransaction) batch(i, Math.min(count, i + perTransaction));
  const rate = count / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

/** Records in a batch: a JSON array (ours or core join's) or NDJSON, gzipped or not. */
function recordsIn(payload: Buffer): number {
  return decodePublish(payload).length;
}

/** Counts records and MQTT bytes (fixed header + remaining length) of the publishes a subscriber receives. */
async function meteredSubscriber(url: string, decode: boolean): Promise<{ records: number; bytes: number; first: number; last: number; client: mqtt.MqttClient }> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-cloud-${files++}` });
  const m = { records: 0, bytes: 0, first: 0, last: 0, client };
  client.on('packetreceive', (p) => {
    if (p.cmd !== 'publish') return;
    const remaining = (p as { length?: number }).length ?? 0;
    // fixed header: one byte, plus one byte of remaining length per 7 bits
    m.bytes += 1 + Math.max(1, Math.ceil(Math.log2(remaining + 1) / 7)) + remaining;
  });
  client.on('message', (_t, payload) => {
    const now = performance.now();
    if (m.records === 0) m.first = now;
    m.records += decode ? recordsIn(payload) : 1;
    m.last = now;
  });
  await client.subscribeAsync('cloud/#', { qos: 1 });
  return m;
}

/** One publish per message at QoS 1, all pipelined (what a flow feeding core mqtt out does). */
async function perMessageRate(url: string, count: number): Promise<{ rate: number; bytesPerReading: number }> {
  const sub = await meteredSubscriber(url, false);
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${files++}` });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => pub.publishAsync(`cloud/${TOPIC}`, JSON.stringify(reading(i)), { qos: 1 })));
  await waitFor(() => sub.records >= count, `${count} per-message publishes`, 120_000);
  const rate = count / ((sub.last - t0) / 1000);
  const bytesPerReading = sub.bytes / sub.records;
  await pub.endAsync();
  await sub.client.endAsync();
  return { rate, bytesPerReading };
}

/** Records per second from the first message into the flow to the last record at the subscriber. */
async function deliveryRate(url: string, count: number, flow: object[], ready: () => boolean, entry: string): Promise<{ rate: number; bytesPerReading: number }> {
  const sub = await meteredSubscriber(url, true);
  await deployUplink(url, {}, undefined, flow);
  await waitFor(ready, 'connected to the broker');
  const t0 = performance.now();
  await feed(node(entry), count);
  await waitFor(() => sub.records >= count, `${count} records at the subscriber`, 180_000);
  const rate = count / ((sub.last - t0) / 1000);
  const bytesPerReading = sub.bytes / sub.records;
  await sub.client.endAsync();
  return { rate, bytesPerReading };
}

const uplinkConnected = () => (node('cloud') as unknown as { connection: { connected: boolean } }).connection.connected;
const uplinkRate = (url: string, count: number, extra: object = {}, flow = uplinkDef(url, extra)) => deliveryRate(url, count, flow, uplinkConnected, 'up');

/** Core Node-RED: join (500 per array, or what came within 50 ms) into mqtt out at QoS 1, as a user would wire it. */
function coreBatchedDef(url: string): object[] {
  const port = new URL(url).port;
  return [
    { id: 'core-broker', type: 'mqtt-broker', broker: '127.0.0.1', port, clientid: `bench-core-${files++}`, autoConnect: true, usetls: false,
      protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'join', type: 'join', mode: 'custom', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n',
      joinerType: 'str', accumulate: false, timeout: '0.05', count: String(BATCH), reduceRight: false, wires: [['pub']] },
    { id: 'pub', type: 'mqtt out', broker: 'core-broker', topic: `cloud/${TOPIC}`, qos: '1', retain: 'false', wires: [] },
  ];
}
const coreRate = (url: string, count: number) => deliveryRate(url, count, coreBatchedDef(url), () => (node('core-broker') as unknown as { connected: boolean }).connected, 'join');

/** A backlog stored while the broker was away, then drained: records per second at the subscriber, first to last. */
async function drainRate(mosquitto: Mosquitto, count: number): Promise<number> {
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  await mosquitto.stop();
  await deployUplink(url, { durability: 'os' });
  const up = node('up');
  await feed(up, count);
  await waitFor(async () => (await uplinkStats()).queued >= count, 'the backlog stored', 120_000);
  return drained(mosquitto, count);
}

/** The same batches held by mqtt.js's offline queue (in memory: gone with a restart) while the broker is away. */
async function offlineQueueDrainRate(mosquitto: Mosquitto, count: number): Promise<number> {
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  await mosquitto.stop();
  const pub = mqtt.connect(url, { clientId: `bench-offline-${files++}`, reconnectPeriod: 500 });
  for (let i = 0; i < count; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => reading(i + k));
    pub.publish(`cloud/${TOPIC}`, JSON.stringify(batch), { qos: 1 });
  }
  const rate = await drained(mosquitto, count);
  await pub.endAsync();
  return rate;
}

async function drained(mosquitto: Mosquitto, count: number): Promise<number> {
  await mosquitto.start();
  const sub = await meteredSubscriber(`mqtt://127.0.0.1:${mosquitto.port}`, true);
  await waitFor(() => sub.records >= count, 'the backlog drained', 180_000);
  const rate = (sub.records - 1) / ((sub.last - sub.first) / 1000);
  await sub.client.endAsync();
  return rate;
}

/**
 * RSS (MiB) of a child process running a queue through the same traffic (50 rounds of 2,000 records stored, paged
 * and acked, as the sender does), once with the queue empty and once with 1,000,000 records queued behind.
 */
function rssChild(file: string, backlog: number): Promise<number> {
  const script = `
    const { DurableQueue } = require(${JSON.stringify(require.resolve('../nodes/core/uplink/durable-queue'))});
    const q = new DurableQueue(${JSON.stringify(file)}, { durability: 'os', maxBytes: 0, maxAgeMs: 0, onFull: 'drop-oldest' });
    const body = JSON.stringify(${JSON.stringify(reading(0))});
    const records = (n) => Array.from({ length: n }, () => ({ topic: '${TOPIC}', ts: Date.now(), body }));
    for (let i = q.queued; i < ${backlog}; i += 10000) q.enqueue(records(Math.min(10000, ${backlog} - i)));
    q.close();
  `;
  const measure = `
    const { DurableQueue } = require(${JSON.stringify(require.resolve('../nodes/core/uplink/durable-queue'))});
    const q = new DurableQueue(${JSON.stringify(file)}, { durability: 'os', maxBytes: 0, maxAgeMs: 0, onFull: 'drop-oldest' });
    const body = JSON.stringify(${JSON.stringify(reading(0))});
    const queued = q.queued;
    for (let k = 0; k < 50; k++) {
      q.enqueue(Array.from({ length: 2000 }, () => ({ topic: '${TOPIC}', ts: Date.now(), body })));
      const page = q.page(2000);
      q.ack(page.map((r) => r.id));
    }
    global.gc();
    process.stdout.write(String(process.memoryUsage().rss / 1048576) + ' ' + queued);
    q.close();
  `;
  const run = (code: string) => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.once('exit', (c) => (c === 0 ? resolve(out) : reject(new Error(`rss child exited ${c}`))));
  });
  // the backlog is built by one process, measured in another (as after a restart with a backlog on disk)
  return run(script).then(() => run(measure)).then((out) => {
    const [rss, queued] = out.split(' ').map(Number);
    if (queued !== backlog) throw new Error(`expected ${backlog} queued, found ${queued}`);
    return rss;
  });
}

export async function benchUplink(): Promise<Figure[]> {
  const figures: Figure[] = [];
  try {
    // accepted per second, per durability mode
    const modes = [
      { mode: 'fsync', count: 2_000, raw: () => rawInsertRate('FULL', 1, 2_000) },
      { mode: 'group', count: 50_000, raw: () => rawInsertRate('FULL', 100, 50_000) },
      { mode: 'os', count: 50_000, raw: () => rawInsertRate('OFF', 1, 50_000) },
    ];
    for (const m of modes) {
      const r = await sideBySide(() => acceptRate(m.mode, m.count), async () => m.raw(), 3);
      figures.push(figure(`uplink_accept_${m.mode}_msgs_per_s`, r.ours, 'msgs/s', r.theirs,
        `raw better-sqlite3 inserts, WAL, ${m.mode === 'os' ? 'synchronous OFF' : 'synchronous FULL'}, ${m.mode === 'group' ? '100 rows' : 'one row'} per transaction`));
    }
    await deliveryFigures(figures);
  } finally {
    await deploy([]);
  }
  const empty: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < 3; r++) {
    empty.push(await rssChild(path.join(dir, `empty-${r}.db`), 0));
    full.push(await rssChild(path.join(dir, 'million.db'), 1_000_000));
  }
  figures.push(figure('uplink_rss_million_queued_mib', median(full), 'MiB', median(empty), 'the same process and traffic with an empty queue', 'measured'));
  return figures;
}

async function deliveryFigures(figures: Figure[]): Promise<void> {
  const mosquitto = new Mosquitto(['max_queued_messages 0', 'max_inflight_messages 0']);
  await mosquitto.start();
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  const COUNT = 20_000;
  const batched = { maxRecords: String(BATCH), batchWait: '50' };
  try {
    const core = 'core join (500 or 50 ms) into mqtt out, QoS 1, same broker and burst (nothing kept on disk)';
    const os = await sideBySide(async () => (await uplinkRate(url, COUNT, { ...batched, durability: 'os' })).rate, async () => (await coreRate(url, COUNT)).rate, 3);
    figures.push(figure('uplink_os_buffered_delivered_msgs_per_s', os.ours, 'msgs/s', os.theirs, core));
    const group = await sideBySide(async () => (await uplinkRate(url, COUNT, { ...batched, durability: 'group' })).rate, async () => (await coreRate(url, COUNT)).rate, 3);
    figures.push(figure('uplink_group_commit_delivered_msgs_per_s', group.ours, 'msgs/s', group.theirs, `${core}; ours flushes each group to disk`));
    let perMessageBytes = 0;
    const single = await sideBySide(async () => (await uplinkRate(url, COUNT, batched)).rate, async () => {
      const b = await perMessageRate(url, COUNT);
      perMessageBytes = b.bytesPerReading;
      return b.rate;
    }, 3);
    figures.push(figure('uplink_delivered_vs_one_publish_per_message_msgs_per_s', single.ours, 'msgs/s', single.theirs, 'one mqtt.js publish per message at QoS 1 (a flow ending in mqtt out alone)'));
    // what a user gets without reading the manual
    const palette = await sideBySide(async () => (await uplinkRate(url, COUNT, {}, paletteUplinkDef(url))).rate, async () => (await perMessageRate(url, COUNT)).rate, 3);
    figures.push(figure('uplink_defaults_delivered_msgs_per_s', palette.ours, 'msgs/s', palette.theirs, 'one mqtt.js publish per message at QoS 1; edge-uplink with its defaults'));

    // bytes: counted from the packets the subscriber receives
    const perReading = 'one JSON publish per reading (QoS 1)';
    figures.push(figure('uplink_defaults_wire_bytes_per_reading', (await uplinkRate(url, 5_000, {}, paletteUplinkDef(url))).bytesPerReading, 'bytes', perMessageBytes, perReading, 'computed'));
    for (const [name, extra] of [['json', { format: 'json', gzip: false }], ['ndjson', { format: 'ndjson', gzip: false }], ['json_gzip', { format: 'json', gzip: true }], ['ndjson_gzip', { format: 'ndjson', gzip: true }], ['columns', { format: 'columns', gzip: false }]] as const) {
      const b = await uplinkRate(url, 5_000, { ...extra, maxRecords: '100', batchWait: '1000' });
      figures.push(figure(`uplink_wire_bytes_per_reading_${name}_100_per_publish`, b.bytesPerReading, 'bytes', perMessageBytes, perReading, 'computed'));
    }

    const drain = await sideBySide(() => drainRate(mosquitto, 100_000), () => offlineQueueDrainRate(mosquitto, 100_000), 1);
    figures.push(figure('uplink_backlog_drain_msgs_per_s', drain.ours, 'msgs/s', drain.theirs, "mqtt.js's in-memory offline queue draining the same records in batches of 500 (core mqtt out keeps none)"));
  } finally {
    await deploy([]);
    await mosquitto.dispose();
  }
}
