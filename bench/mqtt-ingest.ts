/**
 * MQTT ingest rate: JSON readings per second turned into messages by edge-sensor (real Node-RED runtime) against a
 * bare mqtt.js subscriber that parses the same JSON; same broker (mosquitto), same backlog, same run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import mqtt from 'mqtt';
import { Mosquitto } from '../scripts/lib/mosquitto';
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node } from './runtime';
import { figure, Figure, median } from './report';

const COUNT = 100_000;
const ROUNDS = 5;
const TOPIC = 'bench/line1/temperature';

interface Meter { count: number; first: number; last: number }

function newMeter(): Meter {
  return { count: 0, first: 0, last: 0 };
}

function tick(m: Meter): void {
  const now = performance.now();
  if (m.count === 0) m.first = now;
  m.last = now;
  m.count++;
}

/** Publishes COUNT readings from a child process while the subscriber is away; the broker queues them. */
async function publishBacklog(url: string): Promise<void> {
  const child = spawn(process.execPath, [path.join(__dirname, 'publisher.js'), url, String(COUNT), TOPIC], { stdio: 'inherit' });
  await new Promise((r) => child.once('exit', r));
}

/** Receiving rate of the backlog, from the first to the last message. */
async function drained(meter: Meter): Promise<number> {
  await waitFor(() => meter.count >= COUNT, `${COUNT} messages`, 120_000);
  return (meter.count - 1) / ((meter.last - meter.first) / 1000);
}

/**
 * A bare mqtt.js subscriber with a persistent session: the backlog is queued by the broker while it is away and
 * then drained as fast as the subscriber takes it, so the figure is the subscriber's capacity, not the
 * publisher's. `handle` is its work per message; `meter` counts where the work ends.
 */
async function bareDrain(url: string, clientId: string, handle: (topic: string, payload: Buffer) => void, meter: Meter): Promise<number> {
  const options = { clientId, clean: false };
  const first = await mqtt.connectAsync(url, options);
  await first.subscribeAsync(TOPIC, { qos: 0 });
  await first.endAsync();
  await publishBacklog(url);
  const client = mqtt.connect(url, options);
  client.on('message', handle);
  const rate = await drained(meter);
  await client.endAsync();
  return rate;
}

async function bare(url: string): Promise<number> {
  const meter = newMeter();
  return bareDrain(url, 'bench-bare', (_t, payload) => { JSON.parse(payload.toString()); tick(meter); }, meter);
}

/** The floor of any Node-RED input node: a bare subscriber that only parses and sends each reading into the flow. */
async function passThrough(url: string): Promise<number> {
  await deploy([{ id: 'in', type: 'helper', wires: [['out']] }, { id: 'out', type: 'helper', wires: [] }]);
  const meter = newMeter();
  node('out').on('input', () => tick(meter));
  const input = node('in');
  return bareDrain(url, 'bench-pass', (topic, payload) => input.send({ topic, payload: JSON.parse(payload.toString()) }), meter);
}

async function sensor(url: string): Promise<number> {
  const flow = [
    { id: 'broker', type: 'edge-mqtt-broker', url, clientId: 'bench-edge', protocolVersion: '4', clean: false, keepalive: 60, rejectUnauthorized: true },
    { id: 's', type: 'edge-sensor', source: 'mqtt', broker: 'broker', subscription: TOPIC, qos: '0', format: 'auto',
      valueMode: 'path', valuePath: 'temperature', tsPath: 'auto', qualityPath: '', onBadPayload: 'error', maxPayloadKb: 256, topic: '', wires: [['out']] },
    { id: 'out', type: 'helper', wires: [] },
  ];
  await deploy(flow);
  const broker = () => node('broker') as unknown as { connection: { state: string } };
  await waitFor(() => broker().connection.state === 'connected', 'connected');
  await new Promise((r) => setTimeout(r, 200));
  await deploy([]);
  await publishBacklog(url);
  const meter = newMeter();
  await deploy(flow, (n) => n('out').on('input', () => tick(meter)));
  return drained(meter);
}

export async function benchMqttIngest(): Promise<Figure[]> {
  // queue QoS 0 messages for offline persistent sessions, without a cap
  const mosquitto = new Mosquitto(['queue_qos0_messages true', 'max_queued_messages 0', 'max_queued_bytes 0']);
  await mosquitto.start();
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  try {
    const ours: number[] = [];
    const base: number[] = [];
    const pass: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await bare(url));
      pass.push(await passThrough(url));
      ours.push(await sensor(url));
    }
    return [
      figure('mqtt_ingest_msgs_per_s', median(ours), 'msgs/s', median(base), 'bare mqtt.js subscriber with JSON.parse'),
      figure('mqtt_ingest_msgs_per_s_vs_passthrough', median(ours), 'msgs/s', median(pass),
        'bare mqtt.js subscriber sending each parsed reading through a pass-through Node-RED node'),
    ];
  } finally {
    await mosquitto.dispose();
  }
}
