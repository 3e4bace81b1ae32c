/**
 * `npm run fleet -- --gateways N [--minutes M] [--outage S] [--bridge]`: a fleet on this machine. N gateway Node-RED processes
 * (each a simulated pump, 4 channels at 10 Hz, 1 s statistics through edge-uplink) publish to one "cloud"
 * mosquitto, where a cloud Node-RED takes everything with edge-ingest. Measured: records/s at the cloud, each
 * gateway's memory and CPU, end-to-end latency (measurement time to the ingest's output), duplicates and gaps;
 * then the broker is down for S seconds for the whole fleet: the gateways' reconnection attempts per second (at a
 * TCP proxy in front of the broker), the backlog drained at the uplink's pace, every record once at the ingest;
 * then a model version published once (a retained MQTT manifest, the model file from one registry): the time until
 * every gateway reports it `confirmed` (verified, checked on its samples, through probation on live data); then a
 * version with a staged rollout (share 0.3): which gateways took it, against the share of 0.3 the positions predict.
 *
 * With --bridge each gateway publishes to a mosquitto of its own (its site's broker, persistent), bridged to the
 * cloud broker with QoS 1: the bridge then carries the outage (mosquitto's own reconnect backoff, its own queue).
 *
 * Prints one JSON line per figure, then a summary. Everything runs from this checkout (built by `npm run fleet`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Mosquitto } from './lib/mosquitto';
import { LinkProxy } from './lib/link-proxy';
import { linkPackage, NodeRedProcess, onTab, startNodeRed } from './lib/node-red-process';
import { delay, freePort, waitFor } from './lib/net-util';
import mqtt from 'mqtt';
import { buildZoo } from './lib/model-zoo';
import { packageAnomaly } from './lib/demo-models';
import { inRollout } from '../nodes/core/updates/rollout';
import { makeKeyPair, RegistryServer } from './lib/registry';
import { ModelStore } from '../nodes/core/models/model-store';

const root = path.resolve(__dirname, '..', '..');
const PACKAGE = '@edge-intelligence/node-red-nodes';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!(value >= 0)) {
    console.error(`--${name} needs a number (got ${process.argv[at + 1]})`);
    process.exit(2);
  }
  return value;
}

const GATEWAYS = option('gateways', 10);
const MINUTES = option('minutes', 2);
const OUTAGE_S = option('outage', 60);
/** the second topology: each gateway publishes to its site's own mosquitto, bridged to the cloud broker */
const BRIDGE = process.argv.includes('--bridge');
/** the uplink's backlog pace, records/s per gateway */
const DRAIN_RATE = 20;
const MODEL_TOPIC = 'fleet/models/pump-anomaly';
const gatewayId = (index: number) => `gw-${String(index).padStart(3, '0')}`;

/** A site broker's bridge to the cloud: the uplink's topics and model reports out, the fleet's manifests in. */
const bridgeConfig = (index: number, cloudPort: number) => [
  'connection cloud', `address 127.0.0.1:${cloudPort}`, `remote_clientid bridge-${gatewayId(index)}`, 'cleansession false',
  // the same bounds as edge-mqtt-broker's (mosquitto jitters the delay between them)
  'restart_timeout 1 60', 'topic edge/# out 1', 'topic fleet/status/# out 1', 'topic fleet/models/# in 1',
];

const statsEndpoint = (target: string) => [
  { id: 'in-stats', z: 'tab', type: 'http in', url: '/stats', method: 'get', wires: [['ask']] },
  { id: 'ask', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'command', pt: 'msg', to: 'stats', tot: 'str' }], wires: [[target]] },
  { id: 'res', z: 'tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
];

function gatewayFlow(index: number, brokerPort: number, registryUrl: string): unknown[] {
  const channel = (name: string, base: number, amplitude: number) => ({ name, waveform: 'sine', base, amplitude, periodS: 300, noise: amplitude / 10, drift: 0 });
  return onTab('fleet', [
    { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${brokerPort}`, clientId: `fleet-gw-${index}`, protocolVersion: '4', clean: true, keepalive: '15', rejectUnauthorized: true },
    { id: 'pump', z: 'tab', type: 'edge-sensor', source: 'simulator', topic: `site${index}/pump`, outputMode: 'object', interval: '0.1', seed: String(index + 1),
      channels: [channel('vibration', 2.5, 0.5), channel('temperature', 60, 3), channel('pressure', 4, 0.2), channel('speed', 1480, 10)], anomalies: [], wires: [['stats', 'features']] },
    { id: 'stats', z: 'tab', type: 'edge-aggregate', key: 'topic', window: 'tumbling', size: '1', hop: '', align: 'clock', time: 'processing', lateness: '0', partial: 'flush',
      statistics: 'count,mean,min,max,stddev', output: 'stats', featureSource: 'stats', points: '32', layout: 'channel-major', channels: '', maxStreams: '1000', maxSamples: '100000', precision: '4', wires: [['up'], []] },
    { id: 'up', z: 'tab', type: 'edge-uplink', broker: 'cloud', topic: 'edge/${gateway}', gateway: gatewayId(index), qos: '1', format: 'columns',
      maxRecords: '60', batchWait: '5000', maxPacketKb: '128', durability: 'group', groupMs: '20', maxSizeMb: '100', maxAgeH: '0', onFull: 'drop-oldest',
      rateRecords: String(DRAIN_RATE), rateKbps: '0', order: 'oldest-first', wires: [['res'], []] },
    // the demo's anomaly model on 2 s features, kept up to date from the fleet's retained manifest
    { id: 'features', z: 'tab', type: 'edge-aggregate', key: 'topic', window: 'count', size: '20', hop: '10', align: 'clock', time: 'processing', lateness: '0', partial: 'drop',
      statistics: 'mean,stddev', output: 'features', featureSource: 'stats', points: '32', layout: 'channel-major', channels: 'vibration,temperature,pressure,speed',
      maxStreams: '1000', maxSamples: '100000', precision: '', wires: [['score'], []] },
    { id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: '', file: '', pollInterval: 2 },
    { id: 'score', z: 'tab', type: 'edge-infer', model: 'model', mode: 'anomaly', output: '', topK: 3, transform: 'none', threshold: '', nan: 'reject', maxBatch: 1, batchWait: 10,
      concurrency: 1, queueSize: 100, overflow: 'drop-oldest', threads: 1, maxValues: 100000, wires: [[]] },
    { id: 'update', z: 'tab', type: 'edge-model-update', model: 'model', source: 'mqtt', broker: 'cloud', topic: MODEL_TOPIC, artifactBase: `${registryUrl}/pump-anomaly/`,
      keysFile: 'edge-intelligence/trusted-keys.txt', requireSignature: true, maxSizeMb: 100, timeout: 30, probation: 20, keep: 3, statusTopic: `fleet/status/${gatewayId(index)}`,
      gateway: gatewayId(index), wires: [[]] },
    ...statsEndpoint('up'),
  ]);
}

/** The cloud: edge-ingest on a persistent session; a tally of records per gateway, ids seen twice and latency. */
function cloudFlow(brokerPort: number): unknown[] {
  const tally = `
    const t = global.get('tally') || { byGateway: {}, seen: new Set(), twice: 0, latency: [] };
    if (t.seen.has(msg.id)) t.twice++;
    t.seen.add(msg.id);
    t.byGateway[msg.gateway] = (t.byGateway[msg.gateway] || 0) + 1;
    if (t.latency.length < 200000) t.latency.push(Date.now() - msg.ts);
    global.set('tally', t);
    return null;`;
  const read = "const t = global.get('tally'); msg.payload = t ? { byGateway: t.byGateway, twice: t.twice, latency: t.latency } : { byGateway: {}, twice: 0, latency: [] }; return msg;";
  return onTab('fleet', [
    { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${brokerPort}`, clientId: 'fleet-ingest', protocolVersion: '4', clean: false, keepalive: '15', rejectUnauthorized: true },
    { id: 'ingest', z: 'tab', type: 'edge-ingest', broker: 'cloud', topic: 'edge/+', qos: '1', group: '', window: '100000', ledger: '', wires: [['tally'], ['answer']] },
    { id: 'tally', z: 'tab', type: 'function', func: tally, outputs: 1, wires: [] },
    { id: 'answer', z: 'tab', type: 'function', func: "return msg.topic === 'stats' ? msg : null;", outputs: 1, wires: [['res']] },
    { id: 'in-tally', z: 'tab', type: 'http in', url: '/tally', method: 'get', wires: [['read']] },
    { id: 'read', z: 'tab', type: 'function', func: read, outputs: 1, wires: [['res']] },
    ...statsEndpoint('ingest'),
  ]);
}

/** Resident memory (bytes) and CPU time (s) of a process, from /proc. */
function usage(pid: number): { rss: number; cpu: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  // fields after the command's closing parenthesis: utime and stime are the 12th and 13th
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rss, cpu: (Number(fields[11]) + Number(fields[12])) / 100 };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const line = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'fleet', gateways: GATEWAYS, ...o }));

interface UplinkStats { state: string; enqueued: number; acked: number; queued: number; resent: number }
interface IngestStats { accepted: number; duplicates: number; gaps: number; epochs: number; undecodable: number }
interface Tally { byGateway: Record<string, number>; twice: number; latency: number[] }

const count = (t: Tally) => Object.values(t.byGateway).reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-fleet-'));
  const mosquitto = new Mosquitto([], true);
  const gateways: NodeRedProcess[] = [];
  const sites: Mosquitto[] = [];
  let cloud: NodeRedProcess | undefined;
  let proxy: LinkProxy | undefined;
  let registry: RegistryServer | undefined;
  const cleanUp = async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await cloud?.stop();
    await proxy?.cut();
    await registry?.stop();
    await Promise.all(sites.map((m) => m.dispose()));
    await mosquitto.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    await mosquitto.start();
    // the gateways reach the broker through a proxy that notes every connection attempt
    proxy = new LinkProxy(await freePort(), { host: '127.0.0.1', port: mosquitto.port });
    await proxy.restore();
    const userDir = (name: string) => {
      const dir = path.join(work, name);
      fs.mkdirSync(dir, { recursive: true });
      linkPackage(dir, PACKAGE, root);
      return dir;
    };
    // the registry: version 1 on every gateway at the start, version 2 published once during the run
    const zoo = buildZoo();
    const key = makeKeyPair('fleet');
    const registryDir = path.join(work, 'registry');
    packageAnomaly(zoo, registryDir, key, '1');
    registry = new RegistryServer(registryDir);
    await registry.start(await freePort());
    const v1 = zoo.models.find((m) => m.name === 'pump-anomaly')!;
    const installV1 = (dir: string) => {
      const store = ModelStore.shared(path.join(dir, 'edge-intelligence', 'models'));
      store.install(v1.manifest, v1.onnx);
      store.activate(v1.name, v1.manifest.version);
      fs.writeFileSync(path.join(dir, 'edge-intelligence', 'trusted-keys.txt'), `${key.trustLine}\n`);
    };
    const start = async (name: string, flows: unknown[], prepare?: (dir: string) => void) => {
      const dir = userDir(name);
      prepare?.(dir);
      return startNodeRed({ userDir: dir, port: await freePort(), flows, output: path.join(dir, 'node-red.log'), settings: { edgeIntelligenceStateDir: path.join(dir, 'state'), httpNodeRoot: '/' }, startTimeoutMs: 180_000 });
    };
    cloud = await start('cloud', cloudFlow(mosquitto.port));
    const started = Date.now();
    for (let i = 0; i < GATEWAYS; i++) {
      let brokerPort = proxy.port;
      if (BRIDGE) {
        const site = new Mosquitto(bridgeConfig(i, proxy.port), true);
        sites.push(site);
        await site.start();
        brokerPort = site.port;
      }
      gateways.push(await start(`gw-${i}`, gatewayFlow(i, brokerPort, registry.url), installV1));
    }
    console.error(`[fleet] ${GATEWAYS} gateways${BRIDGE ? ' with bridged site brokers' : ''} and the cloud started in ${Math.round((Date.now() - started) / 1000)} s`);
    // the cloud's view of the fleet: model reports and (bridged) each bridge's connection state, as they happen
    // a persistent session: what happens while the broker restarts is queued for it, not missed
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.port}`, { clientId: 'fleet-watch', clean: false });
    const confirmedAt = new Map<string, number>();
    const activeAt = new Map<string, number>();
    const states = new Map<string, string>();
    /** version 3 (a staged rollout): the gateways that confirmed it, and those that held it as outside the share */
    const staged = { confirmed: new Set<string>(), held: new Set<string>() };
    const bridgeUpAt = new Map<string, number>();
    watcher.on('message', (topic, payload, packet) => {
      if (topic.startsWith('$SYS/')) {
        // a live "1", not the retained one from before the outage
        if (payload.toString() === '1' && !packet.retain) bridgeUpAt.set(topic.split('/')[3], Date.now());
        return;
      }
      const report = JSON.parse(payload.toString()) as { version: string; state: string; code?: string; gateway?: string };
      const gateway = topic.split('/')[2];
      states.set(gateway, `${report.state} ${report.version}`);
      if (report.version === '3' && report.state === 'confirmed') staged.confirmed.add(report.gateway ?? gateway);
      if (report.version === '3' && report.state === 'held' && report.code === 'rollout') staged.held.add(report.gateway ?? gateway);
      if (report.version === '2' && report.state === 'active' && !activeAt.has(gateway)) activeAt.set(gateway, Date.now());
      if (report.version === '2' && report.state === 'confirmed' && !confirmedAt.has(gateway)) confirmedAt.set(gateway, Date.now());
    });
    await watcher.subscribeAsync(['fleet/status/+', '$SYS/broker/connection/+/state'], { qos: 1 });
    const tally = () => cloud!.api<Tally>('GET', '/tally');
    const uplinks = () => Promise.all(gateways.map((g) => g.api<UplinkStats>('GET', '/stats')));
    await waitFor(async () => Object.keys((await tally()).byGateway).length === GATEWAYS, 'every gateway heard from at the cloud', 180_000);

    // steady state
    const before = { at: Date.now(), tally: await tally(), use: gateways.map((g) => usage(g.child.pid!)), cloud: usage(cloud.child.pid!) };
    await delay(MINUTES * 60_000);
    const after = { at: Date.now(), tally: await tally(), use: gateways.map((g) => usage(g.child.pid!)), cloud: usage(cloud.child.pid!) };
    const seconds = (after.at - before.at) / 1000;
    const rss = after.use.map((u) => u.rss / 1_048_576).sort((a, b) => a - b);
    const cpu = after.use.map((u, i) => (100 * (u.cpu - before.use[i].cpu)) / seconds).sort((a, b) => a - b);
    const latency = after.tally.latency.slice(before.tally.latency.length).sort((a, b) => a - b);
    line({ figure: 'records/s at the cloud', value: +((count(after.tally) - count(before.tally)) / seconds).toFixed(2), seconds: Math.round(seconds) });
    line({ figure: 'gateway RSS MiB', median: +percentile(rss, 50).toFixed(1), max: +rss[rss.length - 1].toFixed(1) });
    line({ figure: 'gateway CPU %', median: +percentile(cpu, 50).toFixed(2), max: +cpu[cpu.length - 1].toFixed(2) });
    line({ figure: 'cloud Node-RED', rssMiB: +(after.cloud.rss / 1_048_576).toFixed(1), cpuPercent: +((100 * (after.cloud.cpu - before.cloud.cpu)) / seconds).toFixed(2) });
    line({ figure: 'end-to-end latency ms (measurement to ingest output)', p50: percentile(latency, 50), p95: percentile(latency, 95), p99: percentile(latency, 99), max: latency[latency.length - 1] });

    // the broker down for the whole fleet
    const down = Date.now();
    await mosquitto.stop('SIGTERM');
    await delay(OUTAGE_S * 1000);
    // the backlog: in the uplinks' queues, or (bridged) acknowledged by the site brokers but not at the cloud yet
    const waiting = await uplinks();
    const backlog = BRIDGE ? waiting.reduce((a, s) => a + s.acked, 0) - count(await tally()) : waiting.reduce((a, s) => a + s.queued, 0);
    await mosquitto.start();
    const up = Date.now();
    const allBack = async () => (BRIDGE ? [...bridgeUpAt.values()].filter((at) => at >= up).length === GATEWAYS : (await uplinks()).every((s) => s.state === 'connected'));
    await waitFor(allBack, 'every gateway reconnected', 300_000);
    const reconnected = Date.now();
    const drainedNow = async () => {
      if (!BRIDGE) return (await uplinks()).every((s) => s.queued < 60);
      const t = await tally();
      return waiting.every((s, i) => (t.byGateway[gatewayId(i)] ?? 0) >= s.acked);
    };
    await waitFor(drainedNow, 'the backlog drained', 600_000);
    const drained = Date.now();
    const attempts = proxy.accepted.filter((t) => t >= down && t <= reconnected);
    const perSecond = new Map<number, number>();
    for (const t of attempts) perSecond.set(Math.floor((t - down) / 1000), (perSecond.get(Math.floor((t - down) / 1000)) ?? 0) + 1);
    const busiest = Math.max(0, ...perSecond.values());
    // the tightest bunching: the most attempts within any 100 ms
    let bunch = 0;
    for (let i = 0, j = 0; j < attempts.length; j++) {
      while (attempts[j] - attempts[i] >= 100) i++;
      bunch = Math.max(bunch, j - i + 1);
    }
    // after the broker's return: how the fleet's attempts spread (a storm would put them all in one second)
    const afterReturn = new Map<number, number>();
    for (const at of attempts.filter((a) => a >= up)) afterReturn.set(Math.floor((at - up) / 1000), (afterReturn.get(Math.floor((at - up) / 1000)) ?? 0) + 1);
    line({ figure: 'reconnection attempts during the outage', topology: BRIDGE ? 'bridge' : 'direct', attempts: attempts.length, perGateway: +(attempts.length / GATEWAYS).toFixed(1), busiestSecond: busiest, busiest100ms: bunch,
      secondsWithAttempts: perSecond.size, outageS: OUTAGE_S, afterReturn: attempts.filter((a) => a >= up).length,
      busiestSecondAfterReturn: Math.max(0, ...afterReturn.values()), allBackS: +((reconnected - up) / 1000).toFixed(1) });
    // from the broker's return, and from the last gateway's reconnection (the drain itself)
    line({ figure: 'backlog drain', records: backlog, seconds: +((drained - up) / 1000).toFixed(1), afterReconnectS: +((drained - reconnected) / 1000).toFixed(1), pacePerGateway: BRIDGE ? 'the bridge' : DRAIN_RATE,
      expectedS: +(backlog / GATEWAYS / DRAIN_RATE).toFixed(1) });

    // every record once: what each gateway had acknowledged is at the cloud, nothing twice
    const final = await uplinks();
    await waitFor(async () => {
      const t = await tally();
      return final.every((s, i) => (t.byGateway[gatewayId(i)] ?? 0) >= s.acked);
    }, 'every acknowledged record at the cloud', 120_000);
    const t = await tally();
    const ingest = await cloud.api<IngestStats>('GET', '/stats');
    const dropped = final.reduce((a, s) => a + s.enqueued - s.acked - s.queued, 0);
    line({ figure: 'delivery', acknowledged: final.reduce((a, s) => a + s.acked, 0), atCloud: count(t), emittedTwice: t.twice, duplicatesDropped: ingest.duplicates,
      gaps: ingest.gaps, epochs: ingest.epochs, droppedAtGateways: dropped, resent: final.reduce((a, s) => a + s.resent, 0) });

    // a model version published once, retained: every gateway verifies it, fetches it from the registry, checks it
    // and confirms it after probation on its own live data
    const published = Date.now();
    await watcher.publishAsync(MODEL_TOPIC, JSON.stringify(packageAnomaly(zoo, registryDir, key, '2')), { qos: 1, retain: true });
    await waitFor(async () => confirmedAt.size === GATEWAYS, 'every gateway confirmed version 2', 600_000).catch((err) => {
      console.error(`[fleet] model rollout: ${[...states].map(([g, st]) => `${g} ${st}`).join(', ')}`);
      throw err;
    });
    const since = (at: Map<string, number>) => [...at.values()].map((t) => (t - published) / 1000).sort((a, b) => a - b);
    const [active, confirmed] = [since(activeAt), since(confirmedAt)];
    line({ figure: 'model rollout (retained manifest to active, to confirmed)', confirmed: confirmedAt.size, activeP50S: +percentile(active, 50).toFixed(1),
      activeMaxS: +active[active.length - 1].toFixed(1), confirmedP50S: +percentile(confirmed, 50).toFixed(1), confirmedMaxS: +confirmed[confirmed.length - 1].toFixed(1),
      probationRuns: 20, downloads: registry.log.filter((r) => r.path.endsWith('/2/model.onnx') && r.status < 300).length });

    // a staged rollout: version 3 for a share of 0.3; each gateway's position (a hash of its id) decides
    const share = 0.3;
    const predicted = Array.from({ length: GATEWAYS }, (_, i) => gatewayId(i)).filter((id) => inRollout({ share }, id, 'pump-anomaly').taken);
    await watcher.publishAsync(MODEL_TOPIC, JSON.stringify(packageAnomaly(zoo, registryDir, key, '3', { rollout: { share } })), { qos: 1, retain: true });
    await waitFor(async () => staged.confirmed.size + staged.held.size === GATEWAYS, 'every gateway took or held version 3', 600_000);
    const took = [...staged.confirmed].sort();
    line({ figure: 'staged rollout (share 0.3)', share, took: took.length, held: staged.held.size, tookShare: +(took.length / GATEWAYS).toFixed(3),
      asPredicted: took.join() === predicted.join(), downloads: registry.log.filter((r) => r.path.endsWith('/3/model.onnx') && r.status < 300).length });
    await watcher.endAsync();
  } finally {
    await cleanUp();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
