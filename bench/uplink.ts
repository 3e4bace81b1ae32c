/**
 * edge-uplink figures, each against its baseline in the same run:
 * - messages accepted per second by edge-uplink (done() called, the record on disk) for each durability mode, vs
 *   raw better-sqlite3 inserts with the same flush policy (WAL; one transaction per row, or per 100 rows for group);
 * - records delivered per second to mosquitto through edge-uplink (batches of 500) vs one mqtt.js publish per
 *   message at QoS 1, the way Node-RED's core mqtt out sends;
 * - the drain rate of a backlog of 100,000 records vs the same one-publish-per-message baseline;
 * - process RSS with 1,000,000 records queued and draining vs with an empty queue (child processes);
 * - bytes on the wire per reading with batching + gzip vs one JSON publish per reading, counted from the packets
 *   the subscriber receives.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { Mosquitto } from '../scripts/lib/mosquitto';
import { waitFor } from '../scripts/lib/net-util';
import { decodePublish } from '../nodes/core/uplink/uplink-batch';
import { deploy, node, STATE_DIR } from './runtime';
import { figure, Figure, median } from './report';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-bench-uplink-'));
let files = 0;
const freshFile = () => path.join(dir, `raw-${files++}.db`);

/** A reading as the demo's sensors send it. */
const reading = (i: number) => ({ value: Math.round((60 + Math.sin(i / 50) * 5) * 100) / 100, unit: '°C', quality: 'good', ts: 1_700_000_000_000 + i * 500 });
const TOPIC = 'plant1/pump1/temperature';

function uplinkDef(url: string, extra: object = {}): object[] {
  return [
    { id: 'cloud', type: 'edge-mqtt-broker', url, clientId: `bench-uplink-${files++}`, protocolVersion: '4', clean: true, keepalive: 60, rejectUnauthorized: true },
    { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', qos: '1', retain: false, format: 'json', gzip: false,
      maxRecords: '500', batchWait: '50', maxPacketKb: '128', durability: 'group', groupMs: '20', maxSizeMb: '1000', maxAgeH: '0',
      onFull: 'drop-oldest', rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0',
      userProperties: '', wires: [['stats'], []], ...extra },
    { id: 'stats', type: 'helper', wires: [] },
    // done() of each message, as a Complete node sees it
    { id: 'complete', type: 'complete', scope: ['up'], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper', wires: [] },
  ];
}

/** Deploys an uplink with an empty buffer (each measurement starts from nothing queued). */
/** edge-uplink as the palette gives it: only the broker and the topic set. */
function paletteUplinkDef(url: string): object[] {
  const [broker, , ...rest] = uplinkDef(url);
  return [broker, { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', wires: [['stats'], []] }, ...rest];
}

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
  await deployUplink('mqtt://127.0.0.1:1', { durability }, (n) => n('completed').on('input', () => done++));
  const up = node('up');
  const t0 = performance.now();
  // a burst, as a flow delivers it: each message is accepted once its record is on disk
  for (let i = 0; i < count; i++) up.receive({ topic: TOPIC, payload: reading(i) });
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
    m.records += decode ? decodePublish(payload, 'json').length : 1;
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

/** Records per second from the first message into edge-uplink to the last record at the subscriber. */
async function uplinkRate(url: string, count: number, extra: object = {}, flow = uplinkDef(url, extra)): Promise<{ rate: number; bytesPerReading: number }> {
  const sub = await meteredSubscriber(url, true);
  await deployUplink(url, extra, undefined, flow);
  await waitFor(() => (node('cloud') as unknown as { connection: { connected: boolean } }).connection.connected, 'the uplink connected');
  const up = node('up');
  const t0 = performance.now();
  for (let i = 0; i < count; i++) up.receive({ topic: TOPIC, payload: reading(i) });
  await waitFor(() => sub.records >= count, `${count} records through edge-uplink`, 180_000);
  const rate = count / ((sub.last - t0) / 1000);
  const bytesPerReading = sub.bytes / sub.records;
  await sub.client.endAsync();
  return { rate, bytesPerReading };
}

/** A backlog stored while the broker was away, then drained: records per second at the subscriber. */
async function drainRate(mosquitto: Mosquitto, count: number): Promise<number> {
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  await mosquitto.stop();
  await deployUplink(url, { durability: 'os' });
  const up = node('up');
  for (let i = 0; i < count; i++) up.receive({ topic: TOPIC, payload: reading(i) });
  await waitFor(async () => (await uplinkStats()).queued >= count, 'the backlog stored', 120_000);
  await mosquitto.start();
  const sub = await meteredSubscriber(url, true);
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
  // accepted per second, per durability mode
  const modes = [
    { mode: 'fsync', count: 2_000, raw: () => rawInsertRate('FULL', 1, 2_000) },
    { mode: 'group', count: 50_000, raw: () => rawInsertRate('FULL', 100, 50_000) },
    { mode: 'os', count: 50_000, raw: () => rawInsertRate('OFF', 1, 50_000) },
  ];
  for (const m of modes) {
    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < 3; r++) {
      base.push(m.raw());
      ours.push(await acceptRate(m.mode, m.count));
    }
    figures.push(figure(`uplink_accept_${m.mode}_msgs_per_s`, median(ours), 'msgs/s', median(base),
      `raw better-sqlite3 inserts, WAL, ${m.mode === 'os' ? 'synchronous OFF' : 'synchronous FULL'}, ${m.mode === 'group' ? '100 rows' : 'one row'} per transaction`));
  }

  const mosquitto = new Mosquitto(['max_queued_messages 0', 'max_inflight_messages 0']);
  await mosquitto.start();
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  try {
    const ours: number[] = [];
    const base: number[] = [];
    let perMessageBytes = 0;
    let batchedBytes = 0;
    for (let r = 0; r < 3; r++) {
      const b = await perMessageRate(url, 20_000);
      base.push(b.rate);
      perMessageBytes = b.bytesPerReading;
      ours.push((await uplinkRate(url, 20_000)).rate);
    }
    figures.push(figure('uplink_delivered_msgs_per_s', median(ours), 'msgs/s', median(base), 'one mqtt.js publish per message at QoS 1 (core mqtt out style), same broker'));
    batchedBytes = (await uplinkRate(url, 20_000, { gzip: true, maxRecords: '100', batchWait: '1000' })).bytesPerReading;
    figures.push(figure('uplink_wire_bytes_per_reading', batchedBytes, 'bytes', perMessageBytes, 'one JSON publish per reading (QoS 1)'));
    // what a user gets without reading the manual: group commit, batches of 100, gzip
    const palette: number[] = [];
    let paletteBytes = 0;
    for (let r = 0; r < 3; r++) {
      const d = await uplinkRate(url, 20_000, {}, paletteUplinkDef(url));
      palette.push(d.rate);
      paletteBytes = d.bytesPerReading;
    }
    figures.push(figure('uplink_defaults_delivered_msgs_per_s', median(palette), 'msgs/s', median(base), 'core mqtt out style (one publish per message, QoS 1); edge-uplink with its defaults'));
    figures.push(figure('uplink_defaults_wire_bytes_per_reading', paletteBytes, 'bytes', perMessageBytes, 'one JSON publish per reading (QoS 1); edge-uplink with its defaults'));
    const drains: number[] = [];
    for (let r = 0; r < 2; r++) drains.push(await drainRate(mosquitto, 100_000));
    figures.push(figure('uplink_backlog_drain_msgs_per_s', median(drains), 'msgs/s', median(base), 'one mqtt.js publish per message at QoS 1, live'));
  } finally {
    await deploy([]);
    await mosquitto.dispose();
  }

  const empty: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < 3; r++) {
    empty.push(await rssChild(path.join(dir, `empty-${r}.db`), 0));
    full.push(await rssChild(path.join(dir, 'million.db'), 1_000_000));
  }
  figures.push(figure('uplink_rss_million_queued_mib', median(full), 'MiB', median(empty), 'the same process and traffic with an empty queue'));
  fs.rmSync(dir, { recursive: true, force: true });
  return figures;
}
