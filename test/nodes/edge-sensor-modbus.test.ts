import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helper, load, record, messages, startServer, stopServer, lastStatus, statuses, errors, recorder, watchers } from '../support/red';
import { SimulatedModbusDevice } from '../../scripts/lib/modbus-device';
import { PUMP_POINTS } from '../../scripts/lib/pump';
import { freePort, waitFor, delay } from '../../scripts/lib/net-util';

const VALUES: Record<string, number | boolean> = {
  vibration: 2.5, temperature: 61.25, pressure: 4.5, speed: 1480,
  vibration_x100: 2.51, temperature_x10: 61.3, pressure_x100: 4.52, speed_rpm: 1479, running: true, fault: false,
};

function fillPump(device: SimulatedModbusDevice): void {
  for (const p of PUMP_POINTS) device.bank(1).write(p, VALUES[p.name]);
}

function deviceConfig(port: number, extra: object = {}): object {
  return { id: 'dev', type: 'edge-modbus-device', transport: 'tcp', host: '127.0.0.1', port: String(port), unitId: '1',
    timeout: '300', unitTimeouts: '', reconnectMin: '100', reconnectMax: '400', ...extra };
}

function sensor(id: string, extra: object = {}): object {
  return { id, type: 'edge-sensor', source: 'modbus', device: 'dev', topic: 'plant1/pump7', interval: '0.05',
    outputMode: 'object', onFailure: 'quality', unitId: '', maxGap: '0',
    // editor rows arrive as strings
    points: PUMP_POINTS.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)]))),
    wires: [['out']], ...extra };
}

describe('nodes: edge-sensor Modbus source (TCP)', function () {
  let device: SimulatedModbusDevice;
  let port: number;

  before(startServer);
  after(stopServer);
  beforeEach(async () => {
    port = await freePort();
    device = new SimulatedModbusDevice([1, 2]);
    fillPump(device);
    await device.start(port);
  });
  afterEach(async () => {
    await helper.unload();
    await device.stop();
  });

  it('polls the register map and sends one object per poll with units', async () => {
    await load([deviceConfig(port), sensor('s'), recorder('out')]);
    const [m] = await messages(record('out'), 1);
    assert.equal(m.topic, 'plant1/pump7');
    assert.deepEqual(m.payload, VALUES);
    assert.equal(m.quality, 'good');
    assert.equal(m.units.temperature, '°C');
    assert.equal(m.errors, undefined);
    await waitFor(() => lastStatus('s')?.text === '10/10 points', 'status with the point count');
    assert.equal(lastStatus('s')?.fill, 'green');
    // 4 requests per poll: holding 0-7, input 0-3, coil 0, discrete 0
    const polls = record('out');
    await messages(polls, 3);
    assert.equal(device.bank(1).reads % 4, 0);
  });

  it('sends one message per point, polled on an input message that keeps its properties', async () => {
    await load([deviceConfig(port), sensor('s', { interval: '3600', outputMode: 'each' }), recorder('out'), ...watchers('s')]);
    await waitFor(() => lastStatus('s')?.fill === 'green', 'connected');
    const out = record('out');
    const completed = record('s-completed');
    // stale reading fields on the trigger must not leak into the outputs
    (helper.getNode('s') as { receive(m: object): void }).receive({ payload: 'poll', batch: 7, error: 'stale', unit: 'stale', quality: 'bad' });
    const got = await messages(out, 10);
    assert.ok(got.every((m) => m.error === undefined), 'no stale error');
    assert.deepEqual(got.map((m) => m.unit), PUMP_POINTS.map((p) => p.unit));
    assert.deepEqual(got.map((m) => m.topic), PUMP_POINTS.map((p) => `plant1/pump7/${p.name}`));
    assert.deepEqual(got.map((m) => m.payload), PUMP_POINTS.map((p) => VALUES[p.name]));
    assert.ok(got.every((m) => m.batch === 7 && m.quality === 'good'));
    assert.equal(got[1].unit, '°C');
    const [complete] = await messages(completed, 1, 'done()');
    assert.equal(complete.batch, 7);
  });

  it('marks bad quality while the device is away and resumes polling when it is back', async () => {
    await load([deviceConfig(port), sensor('s'), recorder('out')]);
    const out = record('out');
    await messages(out, 2);
    await device.stop();
    await waitFor(() => out.messages.some((m) => m.quality === 'bad'), 'a bad-quality message', 5000);
    const bad = out.messages.find((m) => m.quality === 'bad')!;
    assert.deepEqual(bad.payload, {});
    assert.match(bad.errors.temperature, /^(not connected to 127\.0\.0\.1:\d+|connection lost: .+)$/);
    await waitFor(() => statuses('s').some((s) => s.fill === 'red' && s.text === 'reconnecting'), 'a red reconnecting status');

    device = new SimulatedModbusDevice([1]);
    fillPump(device);
    await device.start(port);
    const before = out.messages.length;
    await waitFor(() => out.messages.slice(before).some((m) => m.quality === 'good'), 'good data after the restart', 5000);
    const good = out.messages.slice(before).find((m) => m.quality === 'good')!;
    assert.deepEqual(good.payload, VALUES);
    assert.equal(errors('s').length, 0, 'outages are data quality, not errors, with onFailure=quality');
  });

  it('reports a Modbus exception as an error to Catch when asked to', async () => {
    device.fault.exception = 2;
    await load([deviceConfig(port), sensor('s', { interval: '3600', onFailure: 'error' }), recorder('out'), ...watchers('s')]);
    await waitFor(() => lastStatus('s')?.fill === 'green', 'connected');
    const caughtRec = record('s-caught');
    (helper.getNode('s') as { receive(m: object): void }).receive({ payload: 'poll' });
    const [caught] = await messages(caughtRec, 1);
    assert.equal(caught.error.message,
      'Error: vibration, temperature, pressure, speed, vibration_x100, temperature_x10, pressure_x100, speed_rpm, running, fault: Modbus exception 2: illegal data address');
    await delay(50);
    assert.equal(record('out').messages.length, 0, 'nothing is sent when every point failed and failures are errors');
    assert.deepEqual(lastStatus('s'), { fill: 'red', shape: 'ring', text: 'Modbus exception 2: illegal dat…' });
  });

  it('shares one connection between sensors on the same device', async () => {
    await load([deviceConfig(port), sensor('a'), sensor('b', { topic: 'plant1/pump7b', points: [{ name: 't', area: 'holding', address: '2', type: 'float32' }] }), recorder('out')]);
    const out = record('out');
    await waitFor(() => out.messages.some((m) => m.topic === 'plant1/pump7') && out.messages.some((m) => m.topic === 'plant1/pump7b'), 'both sensors');
    assert.deepEqual(out.messages.find((m) => m.topic === 'plant1/pump7b')!.payload, { t: 61.25 });
    const server = (device as unknown as { server: { socks: Map<unknown, unknown> } }).server;
    assert.equal(server.socks.size, 1);
  });

  it('skips polls that would start while a slow device still answers, instead of queueing them', async () => {
    device.fault.delayMs = 150;
    await load([deviceConfig(port, { timeout: '2000' }), sensor('s', { interval: '0.02' }), recorder('out')]);
    const out = record('out');
    await messages(out, 3, 'three polls', 10_000);
    const connection = (helper.getNode('dev') as unknown as { connection: { queueLength: number; stats: { requests: number } } }).connection;
    assert.ok(connection.queueLength <= 4, `at most one poll's requests queued (${connection.queueLength})`);
    assert.ok(out.messages.every((m) => m.quality === 'good'));
    const warnings = (helper.getNode('s') as unknown as { warn: { args: unknown[][]; thisValues: unknown[] } }).warn;
    const mine = warnings.args.filter((_, i) => warnings.thisValues[i] === helper.getNode('s')).map((a) => String(a[0]));
    assert.equal(mine[0], 'a poll took longer than the interval and 1 poll(s) were skipped; lengthen the interval or shorten the map');
  });

  it('keeps polling a healthy unit at full rate while another unit on the line is dead', async () => {
    device.fault.silentUnits.add(2);
    await load([
      deviceConfig(port, { timeout: '100' }),
      sensor('good', { interval: '0.05', points: [{ name: 't', area: 'holding', address: '2', type: 'float32' }] }),
      sensor('dead', { interval: '0.05', topic: 'plant1/dead', unitId: '2', points: [{ name: 't', area: 'holding', address: '2', type: 'float32' }] }),
      recorder('out'),
    ]);
    const out = record('out');
    const dead = () => out.messages.filter((m) => m.topic === 'plant1/dead');
    const good = () => out.messages.filter((m) => m.topic === 'plant1/pump7');
    await waitFor(() => dead().some((m) => /^unit 2 not responding/.test(m.errors.t)), 'the dead unit suspended', 10_000);
    // while it is suspended, the healthy unit keeps its pace: 20 more polls, every one good, and the dead unit's
    // polls fail at once (suspended) rather than each holding the line for a timeout
    const connection = (helper.getNode('dev') as unknown as { connection: { stats: { timeouts: number } } }).connection;
    const timeouts = connection.stats.timeouts;
    const from = good().length;
    await waitFor(() => good().length >= from + 20, '20 more polls of the healthy unit', 20_000);
    assert.ok(good().every((m) => m.quality === 'good' && m.payload.t === 61.25));
    assert.ok(dead().every((m) => m.quality === 'bad'));
    assert.ok(connection.stats.timeouts - timeouts <= 3, `only the suspension's rare probes of the dead unit timed out meanwhile (${connection.stats.timeouts - timeouts})`);
  });

  it('reports a bad register map at deploy, naming the point', async () => {
    await load([deviceConfig(port), sensor('s', { points: [{ name: 'x', area: 'coil', address: '0', type: 'float32' }] }), recorder('out')]);
    assert.equal(errors('s')[0][0], 'edge-sensor configuration is not usable: point 1 "x": coils hold single bits, so the type must be bool');
    assert.deepEqual(lastStatus('s'), { fill: 'red', shape: 'ring', text: 'config error' });
  });

  it('reports a bad device configuration at deploy', async () => {
    await load([deviceConfig(port, { port: '0', unitTimeouts: 'fast' }), sensor('s'), recorder('out')]);
    // every problem at once, not only the first
    assert.equal(errors('dev')[0][0], 'Modbus device configuration is not usable: the TCP port must be 1 to 65535; "fast" is not unit=milliseconds (example: 3=2000)');
    await waitFor(() => lastStatus('s')?.text === 'config error', 'the sensor shows the config error');
  });
});

describe('nodes: edge-sensor Modbus source (RTU over a serial line)', function () {
  let socat: ChildProcess;
  let dir: string;
  let device: SimulatedModbusDevice;

  before(startServer);
  after(stopServer);
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-rtu-'));
    socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/device`, `pty,raw,echo=0,link=${dir}/gateway`], { stdio: 'ignore' });
    await waitFor(() => fs.existsSync(`${dir}/device`) && fs.existsSync(`${dir}/gateway`), 'the socat pty pair');
    device = new SimulatedModbusDevice([1, 5]);
    fillPump(device);
    device.bank(5).write({ name: 'level', area: 'holding', address: 0, type: 'int16', scale: 0.1 }, 12.3);
    await device.startSerial(`${dir}/device`, 19200);
  });
  afterEach(async () => {
    await helper.unload();
    await device.stop();
    socat.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('polls two units on one serial line through one queue', async () => {
    const rtu = { id: 'dev', type: 'edge-modbus-device', transport: 'rtu', serialPath: `${dir}/gateway`, baudRate: '19200',
      parity: 'none', dataBits: '8', stopBits: '1', unitId: '1', timeout: '500', reconnectMin: '100', reconnectMax: '400' };
    await load([
      rtu,
      sensor('pump', { interval: '0.2', points: PUMP_POINTS.slice(0, 4).map((p) => ({ ...p })) }),
      sensor('tank', { interval: '0.2', topic: 'plant1/tank', unitId: '5', points: [{ name: 'level', area: 'holding', address: 0, type: 'int16', scale: 0.1 }] }),
      recorder('out'),
    ]);
    const out = record('out');
    await waitFor(() => out.messages.filter((m) => m.quality === 'good').length >= 6, 'good readings from both units', 10_000);
    const pump = out.messages.find((m) => m.topic === 'plant1/pump7' && m.quality === 'good')!;
    const tank = out.messages.find((m) => m.topic === 'plant1/tank' && m.quality === 'good')!;
    assert.deepEqual(pump.payload, { vibration: 2.5, temperature: 61.25, pressure: 4.5, speed: 1480 });
    assert.deepEqual(tank.payload, { level: 12.3 });
  });
});
