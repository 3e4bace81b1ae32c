/**
 * edge-uplink as a user runs it: the packed package in a Node-RED process, a real mosquitto as the cloud broker
 * (sessions kept across its restarts), and a cloud-side subscriber that checks every record id. Faults: the broker
 * stopped mid-run, Node-RED SIGKILLed mid-drain, a full disk, a truncated database.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { decodePublish, Envelope } from '../../nodes/core/uplink/uplink-batch';
import { installedUserDir, SETUP_TIMEOUT_MS } from '../support/installed';
import { onTab, startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { Mosquitto } from '../../scripts/lib/mosquitto';
import { delay, freePort, waitFor } from '../../scripts/lib/net-util';

interface UplinkStats {
  queued: number;
  enqueued: number;
  acked: number;
  resent: number;
  dropped: { full: number; diskFull: number; ttl: number };
  diskFull: boolean;
  epoch: string;
}

/** What the cloud received: every envelope, in arrival order. */
class CloudSubscriber {
  readonly envelopes: Envelope[] = [];
  private constructor(private readonly client: mqtt.MqttClient) {}

  static async connect(port: number): Promise<CloudSubscriber> {
    // a persistent session: what the uplink publishes while this client is away is kept for it by the broker
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'cloud-consumer', clean: false, reconnectPeriod: 200 });
    const sub = new CloudSubscriber(client);
    client.on('message', (_t, payload) => sub.envelopes.push(...decodePublish(payload)));
    await client.subscribeAsync('cloud/#', { qos: 1 });
    return sub;
  }

  /** distinct record seq numbers received (the payload carries the producer's own sequence) */
  seqs(): Set<number> {
    return new Set(this.envelopes.map((e) => (e.payload as { seq: number }).seq));
  }

  get duplicates(): number {
    return this.envelopes.length - new Set(this.envelopes.map((e) => e.id)).size;
  }

  /** Per topic, the first arrival of each record must come in the producer's order. */
  assertOrderPerTopic(): void {
    const seen = new Set<string>();
    const last = new Map<string, number>();
    for (const e of this.envelopes) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      const seq = (e.payload as { seq: number }).seq;
      assert.ok(seq > (last.get(e.topic) ?? -1), `${e.topic}: seq ${seq} after ${last.get(e.topic)}`);
      last.set(e.topic, seq);
    }
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/**
 * The flow: POST /produce {count, from, size} makes messages (topics line/0 and line/1, payload {seq, pad}) and
 * answers at once; GET /stats asks the uplink for its statistics; GET /drops sums its drop events; the Catch node
 * counts refused messages.
 */
function flow(brokerPort: number, uplink: Record<string, unknown>): unknown[] {
  const produce = `
    const { count, from = 0, size = 0 } = msg.payload;
    const pad = 'x'.repeat(size);
    node.send([{ res: msg.res, payload: { producing: count } }, null]);
    let i = 0;
    const step = () => {
      const end = Math.min(count, i + 250);
      for (; i < end; i++) node.send([null, { topic: 'line/' + ((from + i) % 2), payload: { seq: from + i, pad } }]);
      if (i < count) setTimeout(step, 0);
    };
    step();
    return null;`;
  const nodes: Array<Record<string, unknown>> = [
    { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${brokerPort}`, clientId: 'gateway-e2e', protocolVersion: '4', clean: true, keepalive: '5', rejectUnauthorized: true },
    { id: 'in-produce', z: 'tab', type: 'http in', url: '/produce', method: 'post', wires: [['produce']] },
    { id: 'produce', z: 'tab', type: 'function', func: produce, outputs: 2, wires: [['res'], ['up']] },
    { id: 'in-stats', z: 'tab', type: 'http in', url: '/stats', method: 'get', wires: [['ask']] },
    { id: 'ask', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'command', pt: 'msg', to: 'stats', tot: 'str' }], wires: [['up']] },
    {
      id: 'up', z: 'tab', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', qos: '1', retain: false, format: 'json', gzip: true,
      maxRecords: '500', batchWait: '100', maxPacketKb: '128', durability: 'group', groupMs: '20', maxSizeMb: '100', maxAgeH: '0',
      onFull: 'drop-oldest', rateRecords: '0', rateKbps: '0', order: 'oldest-first', allow: '', deny: '', contentType: '', messageExpiry: '0',
      userProperties: '', ...uplink, wires: [['res'], ['count-drops']],
    },
    { id: 'count-drops', z: 'tab', type: 'function', func: "global.set('drops', (global.get('drops') || 0) + msg.payload.count); return null;", outputs: 1, wires: [] },
    { id: 'in-drops', z: 'tab', type: 'http in', url: '/drops', method: 'get', wires: [['read-drops']] },
    { id: 'read-drops', z: 'tab', type: 'function', func: "msg.payload = { drops: global.get('drops') || 0, refused: global.get('refused') || 0, firstError: global.get('firstError') }; return msg;", outputs: 1, wires: [['res']] },
    { id: 'catch', z: 'tab', type: 'catch', scope: ['up'], uncaught: false, wires: [['count-refused']] },
    { id: 'count-refused', z: 'tab', type: 'function', func: "global.set('refused', (global.get('refused') || 0) + 1); if (!global.get('firstError')) global.set('firstError', msg.error.message); return null;", outputs: 1, wires: [] },
    { id: 'res', z: 'tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
  ];
  return onTab('uplink e2e', nodes);
}

describe('e2e: edge-uplink with mosquitto and Node-RED processes', function () {
  this.timeout(300_000);
  let userDir: string;
  let workDir: string;
  let stateDir: string;
  let mosquitto: Mosquitto;
  let red: NodeRedProcess | undefined;
  let cloud: CloudSubscriber | undefined;
  let redPort: number;

  const start = async (flows?: unknown[]) => {
    red = await startNodeRed({
      userDir, port: redPort, output: path.join(userDir, 'node-red.log'), flows,
      settings: { edgeIntelligenceStateDir: stateDir, httpNodeRoot: '/' },
    });
  };
  const stats = () => red!.api<UplinkStats>('GET', '/stats');
  /** the flow deployed and answering */
  const ready = () => waitFor(async () => {
    try {
      return typeof (await stats()).epoch === 'string';
    } catch {
      return false;
    }
  }, 'the uplink flow answering', 30_000);
  const drops = () => red!.api<{ drops: number; refused: number; firstError?: string }>('GET', '/drops');
  const produce = (count: number, from = 0, size = 0) => red!.api('POST', '/produce', { count, from, size });
  const log = () => fs.readFileSync(path.join(userDir, 'node-red.log'), 'utf8');

  before(async function () {
    this.timeout(SETUP_TIMEOUT_MS);
    userDir = await installedUserDir();
    redPort = await freePort();
  });

  beforeEach(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-uplink-state-'));
    stateDir = workDir;
    // sessions kept across the broker's restarts, so the consumer misses nothing while the broker is away
    mosquitto = new Mosquitto([], true);
    await mosquitto.start();
    cloud = await CloudSubscriber.connect(mosquitto.port);
  });

  afterEach(async () => {
    await cloud?.close();
    await red?.stop();
    red = undefined;
    await mosquitto.dispose();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('(1) 50,000 messages, the broker stopped and restarted mid-run: every id delivered, in order per topic', async () => {
    await start(flow(mosquitto.port, {}));
    await ready();
    await produce(50_000);
    await waitFor(() => cloud!.seqs().size >= 10_000, '10,000 delivered before the outage', 60_000);
    await mosquitto.stop('SIGTERM');
    await delay(3000);
    const during = await stats();
    await mosquitto.start();
    await waitFor(() => cloud!.seqs().size === 50_000, 'all 50,000 delivered', 180_000);
    cloud!.assertOrderPerTopic();
    // a subscriber can have the last batch before the uplink has the broker's acknowledgement of it
    await waitFor(async () => (await stats()).acked === 50_000, 'every record acknowledged', 60_000);
    const s = await stats();
    assert.deepEqual([s.enqueued, s.acked, s.queued, s.dropped.full, s.dropped.diskFull], [50_000, 50_000, 0, 0, 0]);
    assert.equal((await drops()).refused, 0, 'nothing refused');
    assert.ok(during.queued > 0, `a backlog built up during the outage (${during.queued})`);
    console.log(`      delivered 50000 records in ${cloud!.envelopes.length} receipts: ${cloud!.duplicates} duplicates, ${s.resent} records resent, backlog ${during.queued} at the outage`);
  });

  it('(2) Node-RED SIGKILLed while draining a backlog, then restarted: every id still delivered', async () => {
    // paced so the drain takes a while: 20,000 records at 2,000/s
    await start(flow(mosquitto.port, { rateRecords: '2000' }));
    await ready();
    await mosquitto.stop('SIGTERM');
    await produce(20_000);
    await waitFor(async () => (await stats()).enqueued === 20_000, 'the backlog of 20,000 stored', 120_000);
    await mosquitto.start();
    await waitFor(() => cloud!.seqs().size >= 4_000, 'the drain under way', 60_000);
    await red!.stop('SIGKILL');
    const before = cloud!.seqs().size;
    assert.ok(before < 20_000, `killed mid-drain (${before} delivered)`);
    await start();
    await ready();
    await waitFor(() => cloud!.seqs().size === 20_000, 'all 20,000 delivered after the restart', 120_000);
    cloud!.assertOrderPerTopic();
    const s = await stats();
    assert.deepEqual([s.enqueued, s.queued, s.dropped.full], [20_000, 0, 0]);
    console.log(`      ${before} delivered before the kill; ${cloud!.duplicates} duplicates after the restart`);
  });

  // a real small disk needs a tmpfs mount (root, as in CI); elsewhere a size-limited database stands in for it
  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mount-probe-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
      execFileSync('umount', [probe]);
      return true;
    } catch {
      return false;
    } finally {
      fs.rmSync(probe, { recursive: true, force: true });
    }
  })();
  it(`(3) ${canMount ? 'a full disk (a 4 MiB tmpfs)' : 'a size-limited database'}: the oldest records give way, every drop counted exactly, no crash`, async () => {
    let disk: string | undefined;
    if (canMount) {
      disk = path.join(workDir, 'disk');
      fs.mkdirSync(disk);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
      stateDir = disk;
    }
    try {
      await start(flow(mosquitto.port, canMount ? {} : { maxSizeMb: '2' }));
      await ready();
      await mosquitto.stop('SIGTERM');
      // 6,000 records of about 1 KiB: more than the disk (or the limit) holds
      await produce(6_000, 0, 1000);
      await waitFor(async () => (await stats()).enqueued + (await drops()).refused >= 6_000, 'every message accepted or refused', 120_000);
      const s = await stats();
      const d = await drops();
      const dropped = s.dropped.full + s.dropped.diskFull;
      assert.equal(d.refused, 0, `drop-oldest makes room: nothing refused (the first refusal: ${d.firstError})`);
      assert.ok(dropped > 0, 'records were dropped');
      assert.equal(d.drops, dropped, 'every drop reported on output 2');
      assert.equal(s.queued, 6_000 - dropped, 'stored = accepted - dropped');
      if (canMount) assert.ok(s.diskFull && s.dropped.diskFull === dropped, 'dropped because the disk is full');
      assert.ok(red!.running, 'Node-RED still runs');
      await mosquitto.start();
      await waitFor(() => cloud!.seqs().size === s.queued, `the ${s.queued} kept records delivered`, 120_000);
      const seqs = [...cloud!.seqs()].sort((a, b) => a - b);
      assert.deepEqual([seqs[0], seqs[seqs.length - 1], seqs.length], [6_000 - s.queued, 5_999, s.queued], 'the newest were kept');
      console.log(`      ${dropped} of 6000 dropped (${s.dropped.diskFull} for the full disk), ${s.queued} delivered`);
    } finally {
      await red?.stop();
      red = undefined;
      if (disk) execFileSync('umount', [disk]);
    }
  });

  it('(4) a truncated database at start: moved aside with a warning, a fresh one started, delivery goes on', async () => {
    await start(flow(mosquitto.port, { durability: 'fsync' }));
    await ready();
    await mosquitto.stop('SIGTERM');
    await produce(2_000, 0, 200);
    await waitFor(async () => (await stats()).enqueued === 2_000, 'a backlog stored', 60_000);
    const oldEpoch = (await stats()).epoch;
    await red!.stop();
    const db = path.join(stateDir, 'uplink', 'up.db');
    fs.truncateSync(db, Math.floor(fs.statSync(db).size / 3));
    await mosquitto.start();
    await start();
    await ready();
    const s = await stats();
    assert.notEqual(s.epoch, oldEpoch, 'a new database');
    assert.match(log(), /the buffer database was damaged \([^)]+\); moved to \S+up\.db\.corrupt-\d+ and a new one started/);
    assert.equal(fs.readdirSync(path.join(stateDir, 'uplink')).filter((f) => /^up\.db\.corrupt-\d+$/.test(f)).length, 1, 'the damaged file kept');
    await produce(100, 10_000);
    await waitFor(() => [...cloud!.seqs()].filter((q) => q >= 10_000).length === 100, 'new records delivered', 30_000);
    assert.ok(red!.running);
  });
});
