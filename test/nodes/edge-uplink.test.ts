import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { decodePublish } from '../../nodes/core/uplink/uplink-batch';
import { startAedes } from '../../scripts/lib/aedes-broker';
import { waitFor } from '../../scripts/lib/net-util';
import { cloudSubscriber, uplinkTestBed } from '../support/cloud';
import { makeTls, Mosquitto } from '../../scripts/lib/mosquitto';
import { errors, helper, lastStatus, load, messages, record, recorder, translate, watchers } from '../support/red';


function uplink(extra: object = {}): object {
  return { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', qos: '1', retain: false, format: 'json', gzip: false,
    maxRecords: '50', batchWait: '50', maxPacketKb: '128', durability: 'os', groupMs: '20', maxSizeMb: '100', maxAgeH: '0',
    onFull: 'drop-oldest', rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0', userProperties: '',
    wires: [['stats'], ['drops']], ...extra };
}

const cloudConfig = (port: number) => ({ id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${port}`, clientId: '', protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true });
const send = (msg: object) => (helper.getNode('up') as unknown as { receive(m: object): void }).receive(msg);


describe('nodes: edge-uplink', function () {
  const bed = uplinkTestBed('edge-uplink-state-');
  const { stateDir } = bed;

  it('stores each message before done(), then sends many per publish, in order, with ids the cloud can de-duplicate', async () => {
    const cloud = await cloudSubscriber(bed.broker.port);
    await load([cloudConfig(bed.broker.port), uplink(), recorder('stats'), recorder('drops'), ...watchers('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    const completed = record('up-completed');
    for (let i = 0; i < 200; i++) send({ topic: i % 2 ? 'pump/temp' : 'pump/vib', payload: { v: i }, ts: 1000 + i });
    await messages(completed, 200, 'done() for every message');
    await waitFor(() => cloud.envelopes.length === 200, 'all 200 in the cloud', 10_000);
    const byTopic = (t: string) => cloud.envelopes.filter((e) => e.topic === t).map((e) => (e.payload as { v: number }).v);
    assert.deepEqual(byTopic('pump/vib'), Array.from({ length: 100 }, (_, i) => i * 2));
    assert.deepEqual(byTopic('pump/temp'), Array.from({ length: 100 }, (_, i) => i * 2 + 1));
    assert.equal(new Set(cloud.envelopes.map((e) => e.id)).size, 200, 'unique ids');
    assert.ok(cloud.publishes <= 10, `${cloud.publishes} publishes for 200 records`);
    assert.equal(cloud.envelopes[0].ts, 1000);
    send({ command: 'stats' });
    const [stats] = await messages(record('stats'), 1);
    assert.deepEqual([stats.payload.queued, stats.payload.acked, stats.payload.sent, stats.payload.dropped.full], [0, 200, 200, 0]);
    assert.deepEqual([stats.payload.link, stats.payload.oldestAgeS], ['connected', 0]);
    assert.ok(stats.payload.savedBytes > 0, 'batching saved bytes');
    await cloud.close();
  });

  it('buffers while the broker is down and delivers everything, in order, when it is back', async () => {
    await load([cloudConfig(bed.broker.port), uplink(), recorder('stats'), recorder('drops')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    const port = bed.broker.port;
    await bed.broker.close();
    await waitFor(() => lastStatus('up')?.fill === 'yellow', 'offline');
    for (let i = 0; i < 500; i++) send({ topic: 'line', payload: i });
    await waitFor(() => lastStatus('up')?.text === translate('edge-uplink.status.offline', { count: 500 }) && lastStatus('up')?.fill === 'yellow', 'offline, queued 500');
    bed.broker = await startAedes(port);
    const cloud = await cloudSubscriber(port);
    await waitFor(() => cloud.envelopes.length >= 500, 'the backlog delivered', 20_000);
    assert.deepEqual(cloud.envelopes.map((e) => e.payload).slice(0, 500), Array.from({ length: 500 }, (_, i) => i));
    await cloud.close();
  });

  it('keeps its backlog across a redeploy (the same node) and applies the size limit with every drop reported', async () => {
    await load([cloudConfig(1), uplink({ maxSizeMb: String(1000 / 1_048_576), onFull: 'drop-oldest' }), recorder('stats'), recorder('drops')]);
    const drops = record('drops');
    // each record: the topic (1 byte) and the JSON text "record 000" (12 bytes)
    for (let i = 0; i < 100; i++) send({ topic: 't', payload: `record ${String(i).padStart(3, '0')}` });
    await waitFor(() => drops.messages.length > 0, 'a drop event');
    send({ command: 'stats' });
    const [stats] = await messages(record('stats'), 1);
    const kept = Math.floor(1000 / 13);
    assert.equal(stats.payload.queued, kept);
    assert.equal(stats.payload.dropped.full, 100 - kept);
    assert.deepEqual([stats.payload.state, stats.payload.link], ['offline', 'offline: buffering on disk'], 'the link in words for a dashboard');
    assert.equal(stats.payload.oldestAgeS, Math.round(stats.payload.oldestAgeMs / 100) / 10);
    assert.equal(drops.messages.reduce((a, m) => a + m.payload.count, 0), 100 - kept, 'every drop reported');
    await helper.unload();
    // the same node again, now with a reachable broker: the backlog goes out
    const cloud = await cloudSubscriber(bed.broker.port);
    await load([cloudConfig(bed.broker.port), uplink({ maxSizeMb: String(1000 / 1_048_576) }), recorder('stats'), recorder('drops')]);
    await waitFor(() => cloud.envelopes.length === kept, `the ${kept} kept records`, 10_000);
    assert.equal(cloud.envelopes[cloud.envelopes.length - 1].payload, 'record 099', 'the newest were kept');
    await cloud.close();
  });

  it('keeps site-only fields on site, gzips, and refuses a payload that is not JSON', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${bed.broker.port}`);
    const raw: Buffer[] = [];
    client.on('message', (_t, p) => raw.push(p));
    await client.subscribeAsync('cloud/#', { qos: 1 });
    await load([cloudConfig(bed.broker.port), uplink({ gzip: true, deny: 'operator,raw.waveform' }), recorder('stats'), recorder('drops'), ...watchers('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    send({ topic: 'p', payload: { temperature: 61, operator: 'jane', raw: { waveform: [1, 2], rms: 2 } } });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    send({ topic: 'p', payload: circular });
    const [err] = await messages(record('up-caught'), 1);
    assert.match(err.error.message, /the payload cannot be stored as JSON/);
    await waitFor(() => raw.length === 1, 'the publish');
    assert.equal(raw[0][0], 0x1f, 'gzipped');
    assert.deepEqual(decodePublish(raw[0]).map((e) => e.payload), [{ temperature: 61, raw: { rms: 2 } }]);
    await client.endAsync(true);
  });

  it('columns: bulk statistics wait for a full batch; an alarm goes at once and takes what waits with it', async () => {
    const cloud = await cloudSubscriber(bed.broker.port);
    const raw: Buffer[] = [];
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${bed.broker.port}`);
    client.on('message', (_t, p) => raw.push(p));
    await client.subscribeAsync('cloud/#', { qos: 1 });
    // an hour's wait: only a full batch or an urgent record sends anything in this test
    await load([cloudConfig(bed.broker.port), uplink({ format: 'columns', maxRecords: '100', batchWait: '3600000', urgent: 'plant1/+/alarms' }),
      recorder('stats'), recorder('drops'), ...watchers('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    const completed = record('up-completed');
    const stats = (i: number) => ({ topic: 'plant1/pump7/stats', ts: 1_700_000_000_000 + i * 60_000, payload: { temperature: { mean: 61 + i / 10, max: 63 }, vibration: { mean: 2.2, max: 3.1 } } });
    // one at a time, each stored before the next: a sender that did not wait would publish each alone
    for (let i = 0; i < 3; i++) {
      send(stats(i));
      await messages(completed, i + 1, `statistics ${i} stored`);
    }
    send({ topic: 'plant1/pump7/alarms', ts: 1_700_000_200_000, payload: { alarmId: 'high temperature', state: 'active-unacked' } });
    await waitFor(() => cloud.envelopes.length === 4, 'the alarm and the three waiting statistics', 10_000);
    assert.deepEqual(cloud.envelopes.filter((e) => e.topic === 'plant1/pump7/stats').map((e) => e.payload), [0, 1, 2].map((i) => stats(i).payload));
    assert.deepEqual(cloud.envelopes.filter((e) => e.topic === 'plant1/pump7/alarms').map((e) => (e.payload as { state: string }).state), ['active-unacked']);
    assert.equal(cloud.publishes, 2, 'one publish per topic: the statistics went together, with the alarm');
    assert.ok(raw.every((p) => p[0] === 0x78), 'deflated columns');
    // a full batch goes without an urgent record
    for (let i = 3; i < 103; i++) send(stats(i));
    await waitFor(() => cloud.envelopes.length === 104, 'a full batch of 100', 10_000);
    assert.equal(cloud.publishes, 3);
    await client.endAsync(true);
    await cloud.close();
  });

  it('after an outage, live data first: new records overtake the paced backlog, each in order', async () => {
    await load([cloudConfig(bed.broker.port), uplink({ order: 'live-first', rateRecords: '100', maxRecords: '20' }), recorder('stats'), recorder('drops'), ...watchers('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected');
    const port = bed.broker.port;
    await bed.broker.close();
    await waitFor(() => lastStatus('up')?.fill === 'yellow', 'offline');
    for (let i = 0; i < 300; i++) send({ topic: 'line', payload: `backlog ${i}` });
    await messages(record('up-completed'), 300, 'the backlog stored');
    bed.broker = await startAedes(port);
    const cloud = await cloudSubscriber(port);
    await waitFor(() => lastStatus('up')?.fill === 'green', 'connected again', 10_000);
    for (let i = 0; i < 10; i++) send({ topic: 'line', payload: `live ${i}` });
    // 300 at 100 records/s: about 3 s of backlog
    await waitFor(() => cloud.envelopes.length >= 310, 'everything delivered', 20_000);
    const order = cloud.envelopes.map((e) => e.payload as string);
    const live = order.filter((p) => p.startsWith('live'));
    const backlog = order.filter((p) => p.startsWith('backlog'));
    assert.deepEqual(live, Array.from({ length: 10 }, (_, i) => `live ${i}`), 'live in order');
    assert.deepEqual(backlog, Array.from({ length: 300 }, (_, i) => `backlog ${i}`), 'backlog in order');
    assert.ok(order.indexOf('live 9') < order.indexOf('backlog 200'), `the live records went ahead (live 9 at ${order.indexOf('live 9')})`);
    const ids = cloud.envelopes.map((e) => e.seq);
    assert.deepEqual([...ids].sort((a, b) => a - b), [...new Set(ids)].sort((a, b) => a - b), 'no duplicates: the receiver can restore the order by id');
    await cloud.close();
  });

  it('publishes over mutual TLS to mosquitto with MQTT 5 content type, expiry and user properties', async function () {
    this.timeout(30_000);
    const dir = fs.mkdtempSync(path.join(stateDir, 'tls-'));
    const tls = makeTls(dir);
    const mosquitto = new Mosquitto([`cafile ${tls.ca}`, `certfile ${tls.serverCert}`, `keyfile ${tls.serverKey}`, 'require_certificate true', 'use_identity_as_username true']);
    await mosquitto.start();
    const url = `mqtts://127.0.0.1:${mosquitto.port}`;
    const read = (f: string) => fs.readFileSync(f, 'utf8');
    const creds = { ca: read(tls.ca), cert: read(tls.clientCert), key: read(tls.clientKey) };
    const cloud = await mqtt.connectAsync(url, { ...creds, protocolVersion: 5 });
    const got: Array<{ payload: Buffer; properties: Record<string, unknown> }> = [];
    cloud.on('message', (_t, payload, packet) => got.push({ payload, properties: (packet.properties ?? {}) as Record<string, unknown> }));
    await cloud.subscribeAsync('cloud/#', { qos: 1 });
    try {
      await load([
        { ...cloudConfig(0), url, protocolVersion: '5' },
        uplink({ contentType: 'application/json', messageExpiry: '3600', userProperties: 'site=plant-7, schema=v1' }),
        recorder('stats'), recorder('drops'), ...watchers('up'),
      ], { cloud: creds });
      await waitFor(() => lastStatus('up')?.fill === 'green', 'connected over mutual TLS', 10_000);
      for (let i = 0; i < 20; i++) send({ topic: 'pump/vib', payload: { rms: i } });
      await waitFor(() => got.reduce((a, g) => a + decodePublish(g.payload).length, 0) === 20, 'the 20 records over TLS', 10_000);
      const props = got[0].properties;
      assert.equal(props.contentType, 'application/json');
      assert.deepEqual({ ...(props.userProperties as object) }, { site: 'plant-7', schema: 'v1' });
      assert.ok(typeof props.messageExpiryInterval === 'number' && props.messageExpiryInterval > 3500 && props.messageExpiryInterval <= 3600, `expiry ${String(props.messageExpiryInterval)}`);
      assert.match(mosquitto.log, /gateway-1/, 'the broker saw the client certificate');
    } finally {
      await cloud.endAsync(true);
      await helper.unload();
      await mosquitto.dispose();
    }
  });

  it('reports a bad setting at deploy in words', async () => {
    await load([cloudConfig(bed.broker.port), uplink({ qos: '0', userProperties: 'no equals sign' }), recorder('stats'), recorder('drops'), ...watchers('up')]);
    await waitFor(() => lastStatus('up')?.fill === 'red', 'the config error shown');
    assert.equal(errors('up')[0][0], 'edge-uplink configuration is not usable: QoS must be 1 or 2 (the broker\'s acknowledgment is what lets a record go); user properties must be key=value pairs');
  });
});
