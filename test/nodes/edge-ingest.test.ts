import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { planPublishes } from '../../nodes/core/uplink/uplink-batch';
import type { StoredRecord } from '../../nodes/core/uplink/durable-queue';
import { waitFor } from '../../scripts/lib/net-util';
import { uplinkTestBed } from '../support/cloud';
import { errors, helper, lastStatus, load, messages, record, recorder, translate, watchers } from '../support/red';

const cloudConfig = (port: number) => ({ id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${port}`, clientId: '', protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true });
/** edge-ingest as dropped from the palette: its editor defaults */
const ingest = (extra: object = {}) => ({ id: 'in', type: 'edge-ingest', broker: 'cloud', topic: 'edge/+', qos: '1', group: '', window: '100000', ledger: '', wires: [['records'], ['events']], ...extra });
const uplink = (extra: object = {}) => ({ id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'edge/${gateway}', gateway: 'gw-a', qos: '1', retain: false, format: 'columns', gzip: true,
  maxRecords: '50', batchWait: '20', maxPacketKb: '128', durability: 'os', groupMs: '20', maxSizeMb: '100', maxAgeH: '0', onFull: 'drop-oldest',
  rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0', userProperties: '', wires: [[], []], ...extra });
const send = (id: string, msg: object) => (helper.getNode(id) as unknown as { receive(m: object): void }).receive(msg);
const stored = (seqs: number[]): StoredRecord[] => seqs.map((id) => ({ id, topic: 'pump/temp', ts: 1000 + id, enqueued: 0, bytes: 0, body: String(id) }));
/** one uplink publish, made as edge-uplink makes it */
const batch = (seqs: number[], epoch = 'E1') => planPublishes(stored(seqs), epoch, () => 'edge/gw-b', { maxRecords: 1000, maxPacketBytes: 1_000_000, format: 'json', gzip: true, gateway: 'gw-b' }).publishes[0].payload;

async function publisher(port: number): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  return client;
}
const publish = (client: mqtt.MqttClient, topic: string, payload: Buffer) => new Promise<void>((resolve, reject) => client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
const ready = () => waitFor(() => lastStatus('in')?.fill === 'green', 'ingest connected');

describe('nodes: edge-ingest', function () {
  const bed = uplinkTestBed('edge-ingest-state-');
  afterEach(() => fs.rmSync(path.join(bed.stateDir, 'ingest'), { recursive: true, force: true }));

  it('with its defaults takes what edge-uplink sends with its defaults: every record once, with its gateway, topic, ts and id', async () => {
    await load([cloudConfig(bed.broker.port), uplink(), ingest(), recorder('records'), recorder('events')]);
    await ready();
    await waitFor(() => lastStatus('up')?.fill === 'green', 'uplink connected');
    const got = record('records');
    for (let i = 0; i < 300; i++) send('up', { topic: i % 3 ? 'pump/temp' : 'alarm/pump', payload: { v: i }, ts: 5000 + i });
    await messages(got, 300, '300 records', 20_000);
    assert.deepEqual(got.messages.map((m) => m.payload.v), Array.from({ length: 300 }, (_, i) => i), 'in the order sent');
    const first = got.messages[0];
    assert.deepEqual([first.topic, first.ts, first.gateway, first.seq, first.id.endsWith(':1')], ['alarm/pump', 5000, 'gw-a', 1, true]);
    send('in', { command: 'stats' });
    const events = await messages(record('events'), 1);
    await waitFor(() => events.some((m) => m.topic === 'stats'), 'the statistics');
    const stats = events.find((m) => m.topic === 'stats')!.payload;
    assert.deepEqual([stats.accepted, stats.duplicates, stats.gaps, stats.epochs, stats.undecodable], [300, 0, 0, 1, 0]);
    const counts = translate('edge-ingest.status.counts', { records: 300, duplicates: 0, gaps: 0 });
    await waitFor(() => lastStatus('in')?.text === counts, `the status "${counts}"`);
  });

  it('drops a resent publish and the resent part of another, tells a new epoch and a gap, and keeps it across a redeploy', async () => {
    await load([cloudConfig(bed.broker.port), ingest({ window: '10' }), recorder('records'), recorder('events')]);
    await ready();
    const got = record('records');
    const events = record('events');
    const client = await publisher(bed.broker.port);
    await publish(client, 'edge/gw-b', batch([1, 2, 3]));
    await publish(client, 'edge/gw-b', batch([1, 2, 3]));
    await publish(client, 'edge/gw-b', batch([3, 4, 5]));
    // 6 and 7 never come; 8 ... 20 do
    await publish(client, 'edge/gw-b', batch(Array.from({ length: 13 }, (_, i) => 8 + i)));
    await messages(got, 18, '18 records');
    assert.deepEqual(got.messages.map((m) => m.seq), [1, 2, 3, 4, 5, ...Array.from({ length: 13 }, (_, i) => 8 + i)]);
    await waitFor(() => events.messages.length >= 2, 'two events');
    assert.deepEqual(events.messages.map((m) => [m.topic, m.payload]), [
      ['epoch', { gateway: 'gw-b', epoch: 'E1' }],
      ['gap', { gateway: 'gw-b', epoch: 'E1', from: 6, to: 7, count: 2 }],
    ]);
    await helper.unload();
    await load([cloudConfig(bed.broker.port), ingest({ window: '10' }), recorder('records'), recorder('events')]);
    await ready();
    const after = record('records');
    await publish(client, 'edge/gw-b', batch([19, 20, 21]));
    await publish(client, 'edge/gw-b', batch([1, 2], 'E2'));
    await messages(after, 3, 'the new records only');
    assert.deepEqual(after.messages.map((m) => m.id), ['E1:21', 'E2:1', 'E2:2']);
    client.end();
  });

  it('restores order when set: held records go on in id order when the hole fills, or as a gap after the hold, across a redeploy', async () => {
    // a hold far longer than the test, then a short one: what is held is seen held, whatever the machine's speed
    const flow = (holdMs: string) => [cloudConfig(bed.broker.port), ingest({ holdMs }), recorder('records'), recorder('events')];
    await load(flow('600000'));
    await ready();
    const got = record('records');
    const events = record('events');
    const client = await publisher(bed.broker.port);
    await publish(client, 'edge/gw-b', batch([1, 2]));
    await publish(client, 'edge/gw-b', batch([5, 6]));
    await publish(client, 'edge/gw-b', batch([3, 4]));
    await messages(got, 6, 'six records');
    assert.deepEqual(got.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6], 'in id order');
    // 7 never comes: 8 is held, still held after a redeploy (it is on disk), then goes on after the (shorter) hold
    await publish(client, 'edge/gw-b', batch([8]));
    const held = translate('edge-ingest.status.countsHeld', { records: 6, held: 1, duplicates: 0, gaps: 0 });
    await waitFor(() => lastStatus('in')?.text === held, `the status "${held}"`);
    await helper.unload();
    await load(flow('300'));
    const after = record('records');
    const gap = record('events');
    await messages(after, 1, 'the held record, after the redeploy');
    assert.deepEqual([after.messages[0].seq, events.messages.map((m) => m.topic)], [8, ['epoch']]);
    await waitFor(() => gap.messages.some((m) => m.topic === 'gap'), 'the gap');
    assert.deepEqual(gap.messages.find((m) => m.topic === 'gap')!.payload, { gateway: 'gw-b', epoch: 'E1', from: 7, to: 7, count: 1 });
    client.end();
  });

  it('an undecodable publish is an error in words to Catch and an event, and the next publish is taken', async () => {
    await load([cloudConfig(bed.broker.port), ingest(), recorder('records'), recorder('events'), ...watchers('in')]);
    await ready();
    const caught = record('in-caught');
    const events = record('events');
    const got = record('records');
    const client = await publisher(bed.broker.port);
    await publish(client, 'edge/gw-b', Buffer.from('temperature=61'));
    await publish(client, 'edge/gw-b', batch([1]));
    await messages(got, 1);
    const [msg] = await messages(caught, 1);
    assert.match(msg.error.message, /^a publish on edge\/gw-b \(14 bytes\) is not an edge-uplink batch: /);
    assert.deepEqual([events.messages[0].topic, events.messages[0].payload.bytes], ['undecodable', 14]);
    assert.equal(errors('in').length, 1);
    client.end();
  });

  it('reports configuration problems at deploy in words, and refuses input until fixed', async () => {
    await load([cloudConfig(bed.broker.port), ingest({ window: '0', topic: 'edge/#/x', group: 'a b' }), ...watchers('in')]);
    const [[text]] = errors('in');
    assert.equal(text, translate('edge-ingest.errors.config', { problems: [
      translate('edge-ingest.errors.filterHash', { filter: 'edge/#/x' }), translate('edge-ingest.errors.group'), translate('edge-ingest.errors.window'),
    ].join('; ') }));
    assert.equal(lastStatus('in')?.text, translate('edge-ingest.status.config'));
    send('in', { command: 'stats' });
    const [msg] = await messages(record('in-caught'), 1);
    assert.equal(msg.error.message, `Error: ${translate('edge-ingest.errors.notConfigured')}`);
  });
});
