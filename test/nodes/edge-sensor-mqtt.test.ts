import assert from 'node:assert/strict';
import mqtt, { MqttClient, IClientOptions } from 'mqtt';
import { helper, load, record, messages, startServer, stopServer, lastStatus, statuses, errors, recorder, watchers } from '../support/red';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { Mosquitto, makeTls } from '../../scripts/lib/mosquitto';
import { freePort, waitFor, delay } from '../../scripts/lib/net-util';
import fs from 'node:fs';

function brokerConfig(url: string, extra: object = {}): object {
  return { id: 'broker', type: 'edge-mqtt-broker', url, clientId: '', protocolVersion: '4', clean: true, keepalive: '30',
    rejectUnauthorized: true, ...extra };
}

function sensor(id: string, extra: object = {}): object {
  return { id, type: 'edge-sensor', source: 'mqtt', broker: 'broker', subscription: 'plant1/+/temperature', qos: '1',
    format: 'auto', valueMode: 'whole', valuePath: '', valueExpr: '', tsPath: 'auto', qualityPath: '', onBadPayload: 'error',
    maxPayloadKb: '1', topic: '', wires: [['out']], ...extra };
}

async function publisher(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 100, ...options });
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject); });
  return client;
}

const publish = (c: MqttClient, topic: string, payload: string | Buffer) => c.publishAsync(topic, payload, { qos: 1 });

/** The broker acknowledged every subscription of the sensors (the SUBSCRIBE follows the CONNACK, after a reconnect too). */
async function subscribed(brokerId = 'broker'): Promise<void> {
  const connection = (helper.getNode(brokerId) as unknown as { connection: { allSubscribed: boolean } }).connection;
  await waitFor(() => connection.allSubscribed, 'the subscriptions acknowledged');
}

describe('nodes: edge-sensor MQTT source (aedes)', function () {
  let broker: EmbeddedBroker;
  let url: string;
  let pub: MqttClient | undefined;

  before(startServer);
  after(stopServer);
  beforeEach(async () => {
    broker = await startAedes(await freePort());
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterEach(async () => {
    await helper.unload();
    await pub?.endAsync(true);
    pub = undefined;
    await broker.close();
  });

  async function connected(id: string): Promise<void> {
    await waitFor(() => lastStatus(id)?.text === 'connected', `${id} connected`);
    await subscribed();
  }

  it('delivers JSON readings with their own timestamp, from a wildcard subscription', async () => {
    await load([brokerConfig(url), sensor('s'), recorder('out')]);
    const out = record('out');
    await connected('s');
    pub = await publisher(url);
    await publish(pub, 'plant1/pump7/temperature', JSON.stringify({ ts: '2026-11-24T10:00:00.000Z', celsius: 61.5, bearing: 48 }));
    await publish(pub, 'plant1/pump8/temperature', '59.25');
    await publish(pub, 'plant1/pump8/pressure', '4.2');
    const got = await messages(out, 2);
    assert.deepEqual(got[0].payload, { celsius: 61.5, bearing: 48 });
    assert.equal(got[0].ts, Date.parse('2026-11-24T10:00:00.000Z'));
    assert.equal(got[0].topic, 'plant1/pump7/temperature');
    assert.equal(got[0].quality, 'good');
    assert.equal(got[1].payload, 59.25);
    assert.ok(Math.abs(got[1].ts - Date.now()) < 5000, 'arrival time when the payload has none');
    await delay(100);
    assert.equal(out.messages.length, 2, 'the pressure topic does not match the filter');
  });

  it('picks the value by path or JSONata, with timestamp and quality fields', async () => {
    await load([
      brokerConfig(url),
      sensor('bypath', { subscription: 'a', valueMode: 'path', valuePath: 'data.values[1]', tsPath: 'data.t', qualityPath: 'q', topic: 'plant1/a' }),
      sensor('byexpr', { subscription: 'b', valueMode: 'jsonata', valueExpr: 'payload.raw * 0.1', tsPath: '' }),
      recorder('out'),
    ]);
    const out = record('out');
    await connected('bypath');
    await connected('byexpr');
    pub = await publisher(url);
    await publish(pub, 'a', JSON.stringify({ data: { t: 1764000000, values: [1, 2.5] }, q: 64 }));
    const [a] = await messages(out, 1);
    assert.deepEqual([a.topic, a.payload, a.ts, a.quality], ['plant1/a', 2.5, 1764000000000, 'uncertain']);
    await publish(pub, 'b', JSON.stringify({ raw: 615 }));
    const [, b] = await messages(out, 2);
    assert.deepEqual([b.topic, b.payload, b.quality], ['b', 61.5, 'good']);
  });

  it('reports malformed payloads to Catch, with topic and reason, and keeps running', async () => {
    await load([brokerConfig(url), sensor('s', { subscription: 't', valueMode: 'path', valuePath: 'v' }), recorder('out'), ...watchers('s')]);
    const out = record('out');
    const caught = record('s-caught');
    await connected('s');
    pub = await publisher(url);
    await publish(pub, 't', '{"v": 1,');
    await publish(pub, 't', '{"v": "NaN"}');
    await publish(pub, 't', '{"w": 2}');
    await publish(pub, 't', Buffer.alloc(2048, 0x20));
    await publish(pub, 't', '{"v": 3}');
    const errs = await messages(caught, 4);
    assert.deepEqual(errs.map((e) => e.error.message.replace(/\(.*\)/, '(...)')), [
      'bad payload on t: payload looks like JSON but is not valid (...): "{"v": 1,"',
      'bad payload on t: value "NaN" is not numeric',
      'bad payload on t: payload has no "v"',
      'bad payload on t: payload of 2 KiB is larger than the 1 KiB limit',
    ]);
    assert.equal(errs[0].topic, 't');
    const [good] = await messages(out, 1);
    assert.equal(good.payload, 3);
    assert.equal(out.messages.length, 1);
    assert.ok(statuses('s').some((st) => st.fill === 'red' && st.text === 'bad payload'));
  });

  it('can pass malformed payloads on with quality "bad" instead', async () => {
    await load([brokerConfig(url), sensor('s', { subscription: 't', format: 'number', onBadPayload: 'quality', topic: 'plant1/x' }), recorder('out')]);
    const out = record('out');
    await connected('s');
    pub = await publisher(url);
    await publish(pub, 't', 'twelve');
    await publish(pub, 't', '12');
    const got = await messages(out, 2);
    assert.deepEqual([got[0].topic, got[0].payload, got[0].quality, got[0].error], ['plant1/x', null, 'bad', 'bad payload on t: payload "twelve" is not a number']);
    assert.deepEqual([got[1].payload, got[1].quality], [12, 'good']);
  });

  it('shares one connection and one subscription between nodes', async () => {
    await load([brokerConfig(url), sensor('a'), sensor('b'), recorder('out')]);
    const out = record('out');
    await connected('a');
    await connected('b');
    assert.equal(broker.connectedClients(), 1);
    pub = await publisher(url);
    await publish(pub, 'plant1/p/temperature', '1');
    await messages(out, 2);
    await delay(100);
    assert.equal(out.messages.length, 2, 'each node gets the message once');
  });

  it('resumes the subscription after the broker is killed and restarted', async () => {
    await load([brokerConfig(url), sensor('s'), recorder('out')]);
    const out = record('out');
    await connected('s');
    await broker.close();
    await waitFor(() => lastStatus('s')?.text === 'reconnecting', 'reconnecting status');
    assert.equal(lastStatus('s')?.fill, 'red');
    broker = await startAedes(broker.port);
    await waitFor(() => lastStatus('s')?.text === 'connected', 'reconnected', 10_000);
    await subscribed();
    pub = await publisher(url);
    await publish(pub, 'plant1/p/temperature', '42');
    const [m] = await messages(out, 1);
    assert.equal(m.payload, 42);
  });

  it('connects over WebSocket (ws://)', async () => {
    const wsBroker = await startAedes(await freePort(), '127.0.0.1', await freePort());
    try {
      const wsUrl = `ws://127.0.0.1:${wsBroker.wsPort}/`;
      await load([brokerConfig(wsUrl), sensor('s'), recorder('out')]);
      const out = record('out');
      await connected('s');
      pub = await publisher(`mqtt://127.0.0.1:${wsBroker.port}`);
      await publish(pub, 'plant1/p/temperature', '21.5');
      const [m] = await messages(out, 1);
      assert.equal(m.payload, 21.5);
      await helper.unload();
    } finally {
      await pub?.endAsync(true);
      pub = undefined;
      await wsBroker.close();
    }
  });

  it('reports an unusable broker configuration at deploy', async () => {
    await load([brokerConfig('http://example', { keepalive: 'x' }), sensor('s'), recorder('out')]);
    // a keepalive that is not a number is named too, never quietly taken for the default
    assert.deepEqual(errors('broker').map((e) => e[0]), [
      'broker configuration is not usable: broker URL must start with mqtt://, mqtts://, ws:// or wss:// (got http://); keepalive must be 0 to 65535 seconds',
    ]);
    assert.deepEqual(lastStatus('s'), { fill: 'red', shape: 'ring', text: 'config error' });
  });
});

describe('nodes: edge-sensor MQTT source (mosquitto)', function () {
  this.timeout(30_000);
  let mosquitto: Mosquitto | undefined;
  let pub: MqttClient | undefined;

  before(startServer);
  after(stopServer);
  afterEach(async () => {
    await helper.unload();
    await pub?.endAsync(true);
    pub = undefined;
    await mosquitto?.dispose();
    mosquitto = undefined;
  });

  it('MQTT 5 with a persistent session: resubscribes after a broker crash that lost the session', async () => {
    mosquitto = new Mosquitto();
    await mosquitto.start();
    const url = `mqtt://127.0.0.1:${mosquitto.port}`;
    await load([
      brokerConfig(url, { protocolVersion: '5', clean: false, sessionExpiry: '3600', clientId: 'gateway-7' }),
      sensor('s'), recorder('out'),
    ]);
    const out = record('out');
    await waitFor(() => lastStatus('s')?.text === 'connected', 'connected');
    await subscribed();
    await mosquitto.stop('SIGKILL');
    await waitFor(() => lastStatus('s')?.text === 'reconnecting', 'reconnecting');
    await mosquitto.start();
    await waitFor(() => lastStatus('s')?.text === 'connected', 'reconnected', 10_000);
    await subscribed();
    pub = await publisher(url, { protocolVersion: 5 });
    await publish(pub, 'plant1/p/temperature', '7.5');
    const [m] = await messages(out, 1);
    assert.equal(m.payload, 7.5);
    assert.match(mosquitto.log, /New client connected .* as gateway-7 \(p5, c0, k30\)/);
  });

  it('keeps a persistent session across a redeploy: QoS 1 messages sent meanwhile are delivered after it', async () => {
    mosquitto = new Mosquitto();
    await mosquitto.start();
    const url = `mqtt://127.0.0.1:${mosquitto.port}`;
    const flow = [brokerConfig(url, { clean: false, clientId: 'gateway-9' }), sensor('s'), recorder('out')];
    await load(flow);
    await waitFor(() => lastStatus('s')?.text === 'connected', 'connected');
    await subscribed();
    await helper.unload();
    pub = await publisher(url);
    for (let i = 1; i <= 5; i++) await publish(pub, 'plant1/p/temperature', String(i));
    await load(flow);
    const got = await messages(record('out'), 5);
    assert.deepEqual(got.map((m) => m.payload), [1, 2, 3, 4, 5]);
  });

  it('connects with mutual TLS using credentials, and refuses a server it cannot verify', async () => {
    const dir = fs.mkdtempSync('/tmp/edge-tls-');
    const tls = makeTls(dir);
    mosquitto = new Mosquitto([
      `cafile ${tls.ca}`, `certfile ${tls.serverCert}`, `keyfile ${tls.serverKey}`,
      'require_certificate true', 'use_identity_as_username true',
    ]);
    await mosquitto.start();
    const url = `mqtts://127.0.0.1:${mosquitto.port}`;
    const read = (f: string) => fs.readFileSync(f, 'utf8');
    await load(
      [brokerConfig(url), sensor('s'), recorder('out'),
        { id: 'bad-broker', type: 'edge-mqtt-broker', url, protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true },
        sensor('untrusting', { broker: 'bad-broker', wires: [['out']] })],
      {
        broker: { ca: read(tls.ca), cert: read(tls.clientCert), key: read(tls.clientKey) },
        'bad-broker': { ca: read(tls.otherCa), cert: read(tls.clientCert), key: read(tls.clientKey) },
      },
    );
    const out = record('out');
    await waitFor(() => lastStatus('s')?.text === 'connected', 'connected over mutual TLS', 10_000);
    await subscribed();
    pub = await publisher(url, { ca: read(tls.ca), cert: read(tls.clientCert), key: read(tls.clientKey) });
    await publish(pub, 'plant1/p/temperature', '99');
    const [m] = await messages(out, 1);
    assert.equal(m.payload, 99);
    await delay(300);
    assert.equal(out.messages.length, 1, 'the node that does not trust the server receives nothing');
    // red on each refused attempt; between attempts it shows yellow (retrying), so look at the whole history
    assert.ok(statuses('untrusting').some((st) => st.fill === 'red'), 'the refusal is shown in red');
    assert.ok(!statuses('untrusting').some((st) => st.fill === 'green'), 'never shown as connected');
    const lastError = (helper.getNode('bad-broker') as unknown as { connection: { lastError: string } }).connection.lastError;
    assert.match(lastError, /self[- ]signed|unable to verify|certificate/i);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('nodes: edge-sensor MQTT source, oversized payloads', function () {
  this.timeout(30_000);
  before(startServer);
  after(stopServer);
  afterEach(() => helper.unload());

  it('refuses a 20 MB payload by its size, quoting at most 1 KiB of it', async () => {
    const broker = await startAedes(await freePort());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const pub = await publisher(url);
    try {
      await load([brokerConfig(url), sensor('s', { maxPayloadKb: '256' }), recorder('out')]);
      await waitFor(() => lastStatus('s')?.text === 'connected', 'connected');
      await subscribed();
      await publish(pub, 'plant1/pump7/temperature', Buffer.alloc(20 * 1024 * 1024, 0x31));
      await waitFor(() => errors('s').length === 1, 'the refusal');
      const [text, msg] = errors('s')[0];
      assert.match(text, /20\.0 MiB is larger than the 256 KiB limit/);
      assert.ok(text.length < 300 && String(msg?.payload).length <= 1024, 'the error and its message quote at most 1 KiB');
    } finally {
      await pub.endAsync(true);
      await broker.close();
    }
  });

  it('with MQTT 5 tells the broker the largest packet it takes: an oversized message is dropped there, later ones arrive', async () => {
    const mosquitto = new Mosquitto();
    await mosquitto.start();
    const url = `mqtt://127.0.0.1:${mosquitto.port}`;
    const pub = await publisher(url, { protocolVersion: 5 });
    try {
      await load([brokerConfig(url, { protocolVersion: '5', maxPacketKb: '64' }), sensor('s', { maxPayloadKb: '1024' }), recorder('out'), ...watchers('s')]);
      await waitFor(() => lastStatus('s')?.text === 'connected', 'connected');
      const out = record('out');
      await subscribed();
      await publish(pub, 'plant1/pump7/temperature', Buffer.alloc(200 * 1024, 0x31));
      await publish(pub, 'plant1/pump7/temperature', '42');
      await waitFor(() => out.messages.some((m) => m.payload === 42), 'the small message after the big one');
      assert.equal(out.messages.length, 1, 'the 200 KiB message never reached the gateway');
      assert.deepEqual(errors('s'), [], 'nothing to refuse: the broker kept it');
    } finally {
      await pub.endAsync(true);
      await helper.unload();
      await mosquitto.dispose();
    }
  });
});
