import assert from 'node:assert/strict';
import { ModbusConnection, ModbusError, parseUnitTimeouts, validateModbusOptions } from '../../../nodes/core/connections/modbus-connection';
import { ModbusPoller } from '../../../nodes/core/sensor/modbus-poller';
import { readingMessages } from '../../../nodes/core/sensor/sensor-output';
import { PointDefinition } from '../../../nodes/core/sensor/modbus-registers';
import { SimulatedModbusDevice } from '../../../scripts/lib/modbus-device';
import { freePort, waitFor } from '../../../scripts/lib/net-util';

const POINTS: PointDefinition[] = [
  { name: 'temperature', area: 'holding', address: 0, type: 'float32', unit: '°C' },
  { name: 'pressure', area: 'holding', address: 2, type: 'int16', scale: 0.01, unit: 'bar' },
  { name: 'running', area: 'coil', address: 5, type: 'bool' },
  { name: 'serial', area: 'input', address: 10, type: 'string', length: 3 },
];

describe('core: Modbus connection and polling against a real ServerTCP', function () {
  let device: SimulatedModbusDevice;
  let port: number;
  let connection: ModbusConnection | undefined;

  beforeEach(async () => {
    port = await freePort();
    device = new SimulatedModbusDevice([1, 2, 3]);
    await device.start(port);
    const bank = device.bank(1);
    bank.write(POINTS[0], 61.25);
    bank.write(POINTS[1], 4.21);
    bank.write(POINTS[2], true);
    bank.write(POINTS[3], 'P-7');
  });

  afterEach(async () => {
    await connection?.close();
    connection = undefined;
    await device.stop();
  });

  function connect(extra: Partial<ConstructorParameters<typeof ModbusConnection>[0]> = {}): ModbusConnection {
    connection = new ModbusConnection({
      transport: { kind: 'tcp', host: '127.0.0.1', port }, timeoutMs: 300,
      backoff: { initialMs: 100, maxMs: 400, jitter: 0 }, ...extra,
    });
    connection.register('test');
    return connection;
  }

  it('polls a map with one request per contiguous block and decodes every type', async () => {
    const c = connect();
    await waitFor(() => c.state === 'connected', 'connected');
    const poller = new ModbusPoller(POINTS, { defaultUnitId: 1 });
    assert.equal(poller.blocks.length, 3);
    const reading = await poller.poll(c, () => 1234);
    assert.deepEqual(reading, { ts: 1234, values: { temperature: 61.25, pressure: 4.21, running: true, serial: 'P-7' }, errors: {} });
    assert.equal(c.stats.requests, 3);
    assert.equal(device.bank(1).reads, 3);
  });

  it('stamps a reading with the time of its last response, not of the poll\'s start', async () => {
    const c = connect();
    await waitFor(() => c.state === 'connected', 'connected');
    // a clock that ticks once per look: the poll of three requests looks once per answered request
    let clock = 0;
    const reading = await new ModbusPoller(POINTS, { defaultUnitId: 1 }).poll(c, () => ++clock);
    assert.deepEqual([reading.ts, clock], [3, 3], 'the third response');
    // on a shared line behind a unit that times out: the reading is stamped after that timeout, when it was read
    device.fault.silentUnits.add(3);
    let timedOutAt = 0;
    const stuck = c.read(3, 'holding', 0, 1).catch(() => { timedOutAt = Date.now(); });
    const behind = await new ModbusPoller(POINTS.slice(0, 1), { defaultUnitId: 1 }).poll(c);
    await stuck;
    assert.deepEqual(behind.values, { temperature: 61.25 });
    assert.ok(timedOutAt > 0 && behind.ts >= timedOutAt, `read at ${behind.ts}, after the timeout at ${timedOutAt}`);
  });

  it('a poll that starts while the connection is still opening waits for it: the first reading after deploy is good', async () => {
    const c = connect();
    assert.equal(c.state, 'connecting');
    const reading = await new ModbusPoller(POINTS, { defaultUnitId: 1 }).poll(c);
    assert.deepEqual(reading.errors, {});
    assert.deepEqual(reading.values, { temperature: 61.25, pressure: 4.21, running: true, serial: 'P-7' });
  });

  it('a request waiting for a connection that cannot open fails with the reason, without waiting for backoff', async () => {
    await device.stop();
    const c = connect();
    await assert.rejects(c.read(1, 'holding', 0, 1), (e: ModbusError) => e.kind === 'disconnected' && /cannot connect to|not connected to .* yet/.test(e.message));
  });

  it('reports a float register holding NaN (the usual "not available" marker) as a failed point', async () => {
    const c = connect();
    await waitFor(() => c.state === 'connected', 'connected');
    device.bank(1).holding[0] = 0xffff;
    device.bank(1).holding[1] = 0xffff;
    const reading = await new ModbusPoller(POINTS.slice(0, 2), { defaultUnitId: 1 }).poll(c);
    assert.deepEqual(reading.values, { pressure: 4.21 });
    assert.deepEqual(reading.errors, { temperature: 'the device returned NaN' });
  });

  it('serializes concurrent requests from many users without mixing answers', async () => {
    const c = connect();
    await waitFor(() => c.state === 'connected', 'connected');
    for (const unit of [1, 2, 3]) device.bank(unit).holding[0] = unit * 100;
    const reads = Array.from({ length: 60 }, (_, i) => c.read((i % 3) + 1, 'holding', 0, 1));
    const results = await Promise.all(reads);
    results.forEach((r, i) => assert.deepEqual(r, [((i % 3) + 1) * 100]));
    assert.equal(c.stats.requests, 60);
  });

  it('reports a Modbus exception in words and keeps the connection', async () => {
    const c = connect();
    await waitFor(() => c.state === 'connected', 'connected');
    device.fault.exception = 2;
    await assert.rejects(c.read(1, 'holding', 0, 2), (err: ModbusError) =>
      err.kind === 'exception' && err.code === 2 && err.message === 'Modbus exception 2: illegal data address');
    device.fault.exception = undefined;
    assert.deepEqual(await c.read(1, 'holding', 2, 1), [421]);
    assert.equal(c.state, 'connected');
  });

  it('suspends a unit that keeps timing out, without stalling the healthy units', async () => {
    const c = connect({ suspendAfter: 2 });
    await waitFor(() => c.state === 'connected', 'connected');
    device.fault.silentUnits.add(3);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(c.read(3, 'holding', 0, 1), (e: ModbusError) => e.kind === 'timeout');
    }
    const requests = c.stats.requests;
    await assert.rejects(c.read(3, 'holding', 0, 1), (e: ModbusError) => e.kind === 'suspended' && /unit 3 not responding/.test(e.message));
    assert.equal(c.stats.requests, requests, 'a suspended unit fails without a request on the wire (no timeout to wait for)');
    assert.deepEqual(await c.read(1, 'holding', 2, 1), [421]);
    assert.equal(c.stats.timeouts, 2);
  });

  it('fails fast while the device is away and resumes polling after it comes back', async () => {
    const c = connect();
    await waitFor(() => c.state === 'connected', 'connected');
    const poller = new ModbusPoller(POINTS.slice(0, 2), { defaultUnitId: 1 });
    await device.stop();
    await waitFor(() => c.state === 'waiting', 'connection lost');
    const during = await poller.poll(c);
    assert.deepEqual(during.values, {});
    assert.match(during.errors.temperature, /^not connected to 127\.0\.0\.1:\d+$/);
    const messages = readingMessages(during, { topic: 'pump', mode: 'each', onFailure: 'quality' });
    assert.deepEqual(messages.map((m) => [m.topic, m.payload, m.quality]), [['pump/temperature', null, 'bad'], ['pump/pressure', null, 'bad']]);

    await device.start(port);
    await waitFor(() => c.state === 'connected', 'reconnected', 5000);
    const after = await poller.poll(c);
    assert.deepEqual(after.values, { temperature: 61.25, pressure: 4.21 });
    assert.ok(c.stats.connects >= 2);
  });

  it('backs off between failed connection attempts instead of storming', async () => {
    await device.stop();
    const c = connect({ backoff: { initialMs: 100, maxMs: 800, jitter: 0 } });
    const delays: number[] = [];
    c.on('retry', (d: number) => delays.push(d));
    await waitFor(() => delays.length >= 4, 'four retries', 5000);
    assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 800]);
    await c.close();
    const attempts = c.stats.connectFailures;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.stats.connectFailures, attempts, 'no attempts after close');
  });

  it('parses per-unit timeouts and names each bad setting by its message key', () => {
    assert.deepEqual(parseUnitTimeouts('3=2000, 7:500'), { timeouts: { 3: 2000, 7: 500 }, bad: [] });
    assert.deepEqual(parseUnitTimeouts('3=fast, 300=1'), { timeouts: {}, bad: ['3=fast', '300=1'] });
    assert.deepEqual(validateModbusOptions({ transport: { kind: 'tcp', host: '', port: 0 }, timeoutMs: 5 }), ['host', 'port', 'timeout']);
  });
});
