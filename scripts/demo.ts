/**
 * `npm start`: the demo gateway on loopback. Starts an embedded MQTT broker (the plant's broker and the "cloud"),
 * a simulated Modbus TCP pump, and Node-RED with this package and the demo flow, then waits for Ctrl-C.
 *
 * The "cloud" is the same broker reached through a link the launcher can cut (the Cloud uplink tab's buttons
 * publish `down` or `up` to demo/cloud-link), to show edge-uplink buffering.
 *
 * The launcher is also the cloud's model registry: it signs and serves the anomaly model over HTTP, and publishes
 * version 2 (a recalibrated threshold) EDGE_DEMO_UPDATE_AFTER seconds (60) after the start, so the editor shows a
 * verified hot swap.
 *
 * The pump's first bearing episode (vibration, temperature and its fault bit) begins EDGE_DEMO_FAULT_AFTER seconds
 * (120, at most) after the start, then every 5 minutes: the alarms have something to raise.
 *
 * Ports: EDGE_DEMO_PORT (editor, 1880), EDGE_DEMO_MQTT_PORT (1883), EDGE_DEMO_MODBUS_PORT (5020),
 * EDGE_DEMO_CLOUD_LINK_PORT (1884), EDGE_DEMO_REGISTRY_PORT (1885).
 * User dir: EDGE_DEMO_USER_DIR (.demo in the repository).
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { startAedes, EmbeddedBroker } from './lib/aedes-broker';
import { LinkProxy } from './lib/link-proxy';
import { PumpDevice } from './lib/pump';
import { linkPackage, startNodeRed, NodeRedProcess } from './lib/node-red-process';
import { portInUse } from './lib/net-util';
import { ModelStore } from '../nodes/core/models/model-store';
import { buildZoo, Zoo } from './lib/model-zoo';
import { packageAnomaly } from './lib/demo-models';
import { KeyPair, loadPrivateKey, makeKeyPair, RegistryServer, saveKeyPair } from './lib/registry';

const root = path.resolve(__dirname, '..', '..');
const userDir = path.resolve(process.env.EDGE_DEMO_USER_DIR || path.join(root, '.demo'));
const packageName = '@edge-intelligence/node-red-nodes';
const DASHBOARD = '@flowfuse/node-red-dashboard';

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`${name}=${raw} is not a TCP port (1-65535).`);
    process.exit(2);
  }
  return port;
}

/** A number of seconds from the environment, or the fallback. */
function secondsFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    console.error(`${name}=${raw} is not a number of seconds.`);
    process.exit(2);
  }
  return seconds;
}

/** This repository and FlowFuse Dashboard 2.0 (a devDependency: the demo's dashboard, not a need of the package). */
function installPackage(): void {
  linkPackage(userDir, packageName, root);
  linkPackage(userDir, DASHBOARD, path.dirname(require.resolve(`${DASHBOARD}/package.json`)));
  const pkg = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkg)) {
    fs.writeFileSync(pkg, JSON.stringify({ name: 'edge-demo', private: true, dependencies: { [packageName]: 'file:..' } }, null, 2));
  }
}

/** the uplink's broker: the cloud, reached over the link that can be cut */
const CLOUD_BROKER = 'edge-cloud-broker';
const LINK_CONTROL = 'demo/cloud-link';

/** Cuts or restores the cloud link when the flow asks (the Cloud uplink tab's buttons). */
async function linkControl(mqttPort: number, link: LinkProxy): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'demo-launcher' });
  client.on('message', (_topic, payload) => {
    const wanted = payload.toString().trim();
    if (wanted === 'down' && link.up) void link.cut().then(() => console.log('Cloud link cut: edge-uplink buffers on disk.'));
    if (wanted === 'up' && !link.up) void link.restore().then(() => console.log('Cloud link restored: the backlog drains.'));
  });
  await client.subscribeAsync(LINK_CONTROL, { qos: 1 });
  return client;
}

/** The demo flow: the example flows with the demo's ports put in. */
function demoFlows(mqttPort: number, modbusPort: number, cloudLinkPort: number, registryPort: number): unknown[] {
  const files = ['edge-sensor-sources.json', 'edge-filter-aggregate.json', 'edge-infer-anomaly.json', 'edge-alarm-dashboard.json', 'edge-uplink-cloud.json', 'edge-model-update.json'];
  const flows = files.flatMap((f) => JSON.parse(fs.readFileSync(path.join(root, 'examples', f), 'utf8')) as Array<Record<string, unknown>>);
  const seen = new Set<string>();
  return flows.filter((n) => !seen.has(n.id as string) && seen.add(n.id as string)).map((n) => {
    if (n.id === CLOUD_BROKER) return { ...n, url: `mqtt://127.0.0.1:${cloudLinkPort}` };
    if (n.type === 'edge-mqtt-broker') return { ...n, url: `mqtt://127.0.0.1:${mqttPort}` };
    if (n.type === 'mqtt-broker') return { ...n, port: String(mqttPort) };
    if (n.type === 'edge-modbus-device') return { ...n, port: modbusPort };
    if (n.type === 'edge-model-update') return { ...n, url: `http://127.0.0.1:${registryPort}/pump-anomaly/manifest.json` };
    return n;
  });
}

/** The demo's models, trained on the simulated pump (once, and only when needed). */
let zoo: Zoo | undefined;
const demoZoo = () => (zoo ??= buildZoo());

/** The demo's models installed in the user dir's model store once. */
function installModels(): string[] {
  const store = ModelStore.shared(path.join(userDir, 'edge-intelligence', 'models'));
  const wanted = ['pump-anomaly', 'pump-classifier'];
  if (wanted.every((name) => store.active(name))) return [];
  const installed: string[] = [];
  for (const m of demoZoo().models.filter((z) => wanted.includes(z.name) && !store.active(z.name))) {
    if (!store.version(m.name, m.manifest.version)) store.install(m.manifest, m.onnx);
    store.activate(m.name, m.manifest.version);
    installed.push(`${m.name} ${m.manifest.version}`);
  }
  return installed;
}

/**
 * The cloud's side of model updates: a signing key (the gateway trusts its public half), a registry with the
 * anomaly model's version 1, served over HTTP, and version 2 published after a while: the same network with its
 * threshold recalibrated (q0.999 of normal scores × 1.2 instead of × 1.1), with a validation sample.
 */
/** The demo's version 2 runs in shadow for a minute of the pump's feature vectors, one every 5 s. */
const DEMO_SHADOW = { samples: 12, agreement: 0.9, anomalyRateChange: 0.1 };

async function startRegistry(port: number, publishAfterS: number): Promise<{ server: RegistryServer; timer?: NodeJS.Timeout }> {
  const base = path.join(userDir, 'edge-intelligence');
  const registry = path.join(base, 'demo-registry');
  const keyDir = path.join(base, 'demo-cloud-keys');
  let key: KeyPair | { keyId: string; privateKey: ReturnType<typeof loadPrivateKey> };
  if (fs.existsSync(path.join(keyDir, 'demo-cloud.key'))) {
    key = { keyId: 'demo-cloud', privateKey: loadPrivateKey(path.join(keyDir, 'demo-cloud.key')) };
  } else {
    const pair = makeKeyPair('demo-cloud');
    saveKeyPair(keyDir, pair);
    fs.writeFileSync(path.join(base, 'trusted-keys.txt'), `# keys whose signed models this gateway installs\n${pair.trustLine}\n`);
    key = pair;
  }
  if (!fs.existsSync(path.join(registry, 'pump-anomaly', '1'))) packageAnomaly(demoZoo(), registry, key, '1');
  const server = new RegistryServer(registry);
  await server.start(port);
  if (fs.existsSync(path.join(registry, 'pump-anomaly', '2'))) return { server };
  const timer = setTimeout(() => {
    // in shadow first: 12 feature vectors (a minute) beside version 1 before it may serve (its threshold moves
    // little, so it decides alike)
    packageAnomaly(demoZoo(), registry, key, '2', { shadow: DEMO_SHADOW });
    console.log(`Model registry: pump-anomaly version 2 published (signed, to run in shadow for ${DEMO_SHADOW.samples} samples first); the gateway checks every 10 s.`);
  }, publishAfterS * 1000);
  return { server, timer };
}

async function main(): Promise<void> {
  const ports = {
    editor: portFromEnv('EDGE_DEMO_PORT', 1880),
    mqtt: portFromEnv('EDGE_DEMO_MQTT_PORT', 1883),
    modbus: portFromEnv('EDGE_DEMO_MODBUS_PORT', 5020),
    cloudLink: portFromEnv('EDGE_DEMO_CLOUD_LINK_PORT', 1884),
    registry: portFromEnv('EDGE_DEMO_REGISTRY_PORT', 1885),
  };
  const updateAfter = secondsFromEnv('EDGE_DEMO_UPDATE_AFTER', 60);
  const faultAfter = secondsFromEnv('EDGE_DEMO_FAULT_AFTER', 120);
  const busy = [];
  for (const [what, port] of Object.entries(ports)) if (await portInUse(port)) busy.push(`${what} port ${port}`);
  if (busy.length) {
    console.error(`Cannot start the demo: ${busy.join(', ')} already in use on 127.0.0.1.`);
    console.error('Stop what uses it, or choose other ports: EDGE_DEMO_PORT, EDGE_DEMO_MQTT_PORT, EDGE_DEMO_MODBUS_PORT, EDGE_DEMO_CLOUD_LINK_PORT, EDGE_DEMO_REGISTRY_PORT.');
    process.exit(1);
  }
  if (!fs.existsSync(path.join(root, 'dist', 'edge-sensor', 'edge-sensor.js'))) {
    console.error('The package is not built: run `npm run build` (npm start does it for you).');
    process.exit(1);
  }

  installPackage();
  const models = installModels();
  const firstStart = !fs.existsSync(path.join(userDir, 'flows.json'));
  let broker: EmbeddedBroker | undefined;
  let pump: PumpDevice | undefined;
  let red: NodeRedProcess | undefined;
  let link: LinkProxy | undefined;
  let control: mqtt.MqttClient | undefined;
  let registry: { server: RegistryServer; timer?: NodeJS.Timeout } | undefined;
  let stopping = false;

  async function stop(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the demo...');
    await red?.stop('SIGINT').catch(() => undefined);
    await pump?.stop().catch(() => undefined);
    await control?.endAsync(true).catch(() => undefined);
    clearTimeout(registry?.timer);
    await registry?.server.stop().catch(() => undefined);
    await link?.cut().catch(() => undefined);
    await broker?.close().catch(() => undefined);
    process.exit(code);
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  broker = await startAedes(ports.mqtt);
  pump = new PumpDevice(7, 100, faultAfter);
  await pump.start(ports.modbus);
  link = new LinkProxy(ports.cloudLink, { host: '127.0.0.1', port: ports.mqtt });
  await link.restore();
  control = await linkControl(ports.mqtt, link);
  registry = await startRegistry(ports.registry, updateAfter);
  red = await startNodeRed({
    userDir,
    port: ports.editor,
    flows: firstStart ? demoFlows(ports.mqtt, ports.modbus, ports.cloudLink, ports.registry) : undefined,
    output: 'inherit',
  });
  red.child.once('exit', (code) => {
    if (!stopping) {
      console.error(`Node-RED stopped unexpectedly (exit code ${code}).`);
      void stop(1);
    }
  });

  console.log([
    '',
    'Edge Intelligence demo is running:',
    `  Node-RED editor       ${red.url}/`,
    `  MQTT broker (aedes)   mqtt://127.0.0.1:${ports.mqtt}   plant and cloud broker`,
    `  Modbus TCP pump       127.0.0.1:${ports.modbus}        unit 1, holding 0-7 float32, input 0-3 scaled int16`,
    `  cloud link            127.0.0.1:${ports.cloudLink}        to the broker; cut and restore it on the Cloud uplink tab`,
    `  model registry        http://127.0.0.1:${ports.registry}/   signed models${registry.timer ? `; pump-anomaly 2 follows in ${updateAfter} s` : ''}`,
    `  user dir              ${path.relative(process.cwd(), userDir) || '.'}${firstStart ? ' (demo flow deployed)' : ''}`,
    `  models                ${models.length ? `installed ${models.join(', ')}` : 'in the user dir\'s model store'}`,
    `  dashboard             ${red.url}/dashboard   process, model, alarms and the cloud link`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
}

main().catch((err) => {
  console.error(`The demo could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
