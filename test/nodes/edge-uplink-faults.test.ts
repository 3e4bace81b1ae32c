/**
 * edge-uplink under the faults a gateway meets that are not an outage: records no broker can take (bad topics, a
 * publish the broker refuses), a database another process holds locked or that is someone else's, and a pace that
 * holds records back (which is not a resend).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DurableQueue } from '../../nodes/core/uplink/durable-queue';
import { waitFor } from '../../scripts/lib/net-util';
import { cloudSubscriber, uplinkTestBed } from '../support/cloud';
import { Mosquitto } from '../../scripts/lib/mosquitto';
import { errors, helper, lastStatus, load, messages, record, recorder, statuses, warnings, watchers } from '../support/red';

function uplink(id: string, extra: object = {}): object {
  return { id, type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', qos: '1', retain: false, format: 'json', gzip: false,
    maxRecords: '50', batchWait: '20', maxPacketKb: '128', durability: 'os', groupMs: '20', maxSizeMb: '100', maxAgeH: '0',
    onFull: 'drop-oldest', rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0', userProperties: '',
    wires: [[`${id}-stats`], [`${id}-drops`]], ...extra };
}
const flowOf = (id: string, extra: object = {}) => [uplink(id, extra), recorder(`${id}-stats`), recorder(`${id}-drops`), ...watchers(id)];
const cloudConfig = (port: number, version = '4') => ({ id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${port}`, clientId: '', protocolVersion: version, clean: true, keepalive: '30', rejectUnauthorized: true });
const send = (id: string, msg: object) => (helper.getNode(id) as unknown as { receive(m: object): void }).receive(msg);


async function stats(id: string): Promise<Record<string, any>> {
  const rec = record(`${id}-stats`);
  send(id, { command: 'stats' });
  return (await messages(rec, 1, 'the stats'))[0].payload;
}

describe('nodes: edge-uplink under faults', function () {
  this.timeout(60_000);
  const bed = uplinkTestBed('edge-uplink-faults-');
  const { stateDir } = bed;

  it('refuses a record whose topic cannot be published, and no later record of any uplink on the connection is held up', async () => {
    const cloud = await cloudSubscriber(bed.broker.port);
    await load([cloudConfig(bed.broker.port), ...flowOf('up'), uplink('other', { topic: '' }), recorder('other-stats'), recorder('other-drops')]);
    await waitFor(() => lastStatus('up')?.fill === 'green' && lastStatus('other')?.fill === 'green', 'both connected');
    const caught = record('up-caught');
    const drops = record('up-drops');
    const bad = ['pump/+/x', 'pump/#', 'pump\u0000x', 'x'.repeat(70_000), '\u00e9'.repeat(33_000)];
    for (const topic of bad) send('up', { topic, payload: 1 });
    // the other uplink publishes to msg.topic itself: a $ topic is refused there, a wildcard too
    send('other', { topic: '$SYS/broker', payload: 1 });
    send('other', { topic: 'a/#', payload: 1 });
    const errs = await messages(caught, bad.length, 'an error for each bad topic');
    assert.deepEqual(errs.map((m) => /wildcard|\+ or #|NUL|65,535/.test(m.error.message)), bad.map(() => true), errs.map((m) => m.error.message).join('\n'));
    assert.ok(errs.every((m) => m.error.message.length < 200), 'the error does not quote the topic whole');
    await waitFor(() => errors('other').length === 2, 'the other uplink refuses its two');
    assert.match(errors('other')[0][0], /starts with \$/);
    for (let i = 0; i < 50; i++) {
      send('up', { topic: 'good', payload: i });
      send('other', { topic: 'cloud/other', payload: i });
    }
    await waitFor(() => cloud.envelopes.length === 100, 'all 100 good records delivered', 20_000);
    assert.deepEqual(cloud.envelopes.filter((e) => e.topic === 'good').map((e) => e.payload), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(cloud.envelopes.filter((e) => e.topic === 'cloud/other').map((e) => e.payload), Array.from({ length: 50 }, (_, i) => i));
    const s = await stats('up');
    assert.deepEqual([s.badTopics, s.enqueued, s.acked, s.queued], [bad.length, 50, 50, 0], 'refused before storing, and counted');
    assert.deepEqual(drops.messages.map((m) => m.payload.reason), bad.map(() => 'bad-topic'));
    await cloud.close();
  });

  it('the topic template inserts the topic as it is ("$&" and "$\'" are not patterns)', async () => {
    const cloud = await cloudSubscriber(bed.broker.port);
    await load([cloudConfig(bed.broker.port), ...flowOf('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    for (const topic of ['a$&b', "c$'d", 'e$`f']) send('up', { topic, payload: 1 });
    await waitFor(() => cloud.topics.length === 3, 'three publishes');
    assert.deepEqual([...cloud.topics].sort(), ['cloud/a$&b', "cloud/c$'d", 'cloud/e$`f'].sort());
    await cloud.close();
  });

  it('a publish the broker refuses (MQTT 5, not authorized) is set aside and reported; the records behind it go', async () => {
    const mosquitto = new Mosquitto([`acl_file ${path.join(stateDir, 'acl')}`]);
    fs.writeFileSync(path.join(stateDir, 'acl'), 'topic readwrite cloud/open/#\ntopic read cloud/#\n');
    await mosquitto.start();
    try {
      const cloud = await cloudSubscriber(mosquitto.port);
      await load([cloudConfig(mosquitto.port, '5'), ...flowOf('up', { maxRecords: '5' })]);
      await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
      const drops = record('up-drops');
      for (let i = 0; i < 30; i++) send('up', { topic: i % 3 === 0 ? 'secret/x' : 'open/x', payload: i });
      await waitFor(() => cloud.envelopes.length === 20, 'the 20 allowed records', 20_000);
      await waitFor(() => drops.messages.reduce((a, m) => a + m.payload.count, 0) === 10, 'the 10 refused ones reported');
      assert.ok(drops.messages.every((m) => m.payload.reason === 'refused' && /authori/i.test(m.payload.error)), JSON.stringify(drops.messages.map((m) => m.payload)));
      const s = await stats('up');
      assert.deepEqual([s.queued, s.acked, s.dropped.refused], [0, 20, 10]);
      await cloud.close();
    } finally {
      await helper.unload();
      await mosquitto.dispose();
    }
  });

  it('a pace that holds records back is not a resend: resent stays 0 on a link that never dropped', async () => {
    const cloud = await cloudSubscriber(bed.broker.port);
    await load([cloudConfig(bed.broker.port), ...flowOf('up', { rateRecords: '1000', maxRecords: '100' })]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    for (let i = 0; i < 3900; i++) send('up', { topic: 't', payload: i });
    await waitFor(() => cloud.envelopes.length === 3900, 'all 3,900 delivered', 30_000);
    const s = await stats('up');
    assert.deepEqual([s.sent, s.resent, s.acked], [3900, 0, 3900]);
    await cloud.close();
  });

  it('a database another process holds locked is waited for, not moved aside: its records are delivered once it is free', async () => {
    const file = path.join(stateDir, 'uplink', 'up.db');
    const before = new DurableQueue(file, { durability: 'fsync', maxBytes: 0, maxAgeMs: 0, onFull: 'drop-oldest' });
    before.enqueue(Array.from({ length: 20 }, (_, i) => ({ topic: 'old', ts: 1, body: String(i) })));
    before.close();
    // another process takes an exclusive lock on the file and holds it
    const holder = spawn(process.execPath, ['-e', `
      const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(file)});
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      console.log('locked');
      process.stdin.on('data', () => process.exit(0));
    `], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('locked'), 'the other process holds the lock');
    const cloud = await cloudSubscriber(bed.broker.port);
    try {
      await load([cloudConfig(bed.broker.port), ...flowOf('up')]);
      await waitFor(() => statuses('up').some((s) => /locked/.test(s.text ?? '')), 'the status says the buffer is locked');
      const caught = record('up-caught');
      send('up', { topic: 'new', payload: 'while locked' });
      assert.match((await messages(caught, 1))[0].error.message, /locked by another process/);
      assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.includes('corrupt')), [], 'nothing moved aside');
      holder.stdin!.write('x');
      await waitFor(() => cloud.envelopes.length === 20, 'the 20 waiting records delivered once the lock is gone', 20_000);
      assert.deepEqual(cloud.envelopes.map((e) => e.payload), Array.from({ length: 20 }, (_, i) => i));
    } finally {
      holder.kill();
      await cloud.close();
    }
  });

  it('a sound SQLite file with another schema is moved aside and a working buffer started', async () => {
    const file = path.join(stateDir, 'uplink', 'up.db');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const other = new Database(file);
    other.exec('CREATE TABLE records (name TEXT, size INTEGER); INSERT INTO records VALUES (\'x\', 1);');
    other.close();
    const cloud = await cloudSubscriber(bed.broker.port);
    await load([cloudConfig(bed.broker.port), ...flowOf('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    const warned = warnings('up');
    assert.ok(warned.some((w) => /table records has other columns/.test(w)), warned.join('\n'));
    assert.equal(fs.readdirSync(path.dirname(file)).filter((f) => /^up\.db\.corrupt-\d+$/.test(f)).length, 1, 'the other file is kept');
    send('up', { topic: 't', payload: 'works' });
    await waitFor(() => cloud.envelopes.length === 1, 'delivered');
    await cloud.close();
  });
});
