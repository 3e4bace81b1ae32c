import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { ModbusConnection, ModbusError } from '../../../nodes/core/connections/modbus-connection';
import { MqttConnection } from '../../../nodes/core/connections/mqtt-connection';
import { SimulatedModbusDevice } from '../../../scripts/lib/modbus-device';
import { startAedes } from '../../../scripts/lib/aedes-broker';
import { freePort, waitFor } from '../../../scripts/lib/net-util';

describe('core: connection lifecycle under faults', function () {
  this.timeout(30_000);

  it('fails the request on the wire when the device drops the link, and the queue keeps working after', async () => {
    const port = await freePort();
    const device = new SimulatedModbusDevice([1]);
    device.bank(1).holding[0] = 7;
    await device.start(port);
    const c = new ModbusConnection({ transport: { kind: 'tcp', host: '127.0.0.1', port }, timeoutMs: 5000, backoff: { initialMs: 100, maxMs: 200, jitter: 0 } });
    try {
      c.register('t');
      await waitFor(() => c.state === 'connected', 'connected');
      device.fault.delayMs = 1000;
      const inFlight = c.read(1, 'holding', 0, 1);
      const queued = c.read(1, 'holding', 0, 1);
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await device.stop();
      await assert.rejects(inFlight, (e: ModbusError) => e.kind === 'disconnected');
      await assert.rejects(queued, (e: ModbusError) => e.kind === 'disconnected');
      assert.ok(Date.now() - started < 1000, 'failed at once, not after the 5 s timeout');
      device.fault.delayMs = 0;
      await device.start(port);
      await waitFor(() => c.state === 'connected', 'reconnected', 5000);
      assert.deepEqual(await c.read(1, 'holding', 0, 1), [7]);
    } finally {
      await c.close();
      await device.stop();
    }
  });

  it('opens again after the last user left (a redeploy of only the client nodes)', async () => {
    const port = await freePort();
    const device = new SimulatedModbusDevice([1]);
    await device.start(port);
    const c = new ModbusConnection({ transport: { kind: 'tcp', host: '127.0.0.1', port }, timeoutMs: 500 });
    try {
      c.register('a');
      await waitFor(() => c.state === 'connected', 'connected');
      await c.deregister('a');
      assert.equal(c.state, 'idle');
      c.register('b');
      await waitFor(() => c.state === 'connected', 'connected again');
      assert.deepEqual(await c.read(1, 'holding', 0, 1), [0]);
      await c.close();
      c.register('c');
      assert.equal(c.state, 'closed', 'close() is final');
    } finally {
      await c.close();
      await device.stop();
    }
  });

  it('keeps backing off from an endpoint that accepts and at once drops connections', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => { sockets.add(s); s.destroy(); });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const c = new ModbusConnection({ transport: { kind: 'tcp', host: '127.0.0.1', port }, timeoutMs: 500, backoff: { initialMs: 50, maxMs: 400, jitter: 0 } });
    const delays: number[] = [];
    c.on('retry', (d: number) => delays.push(d));
    try {
      c.register('t');
      await waitFor(() => delays.length >= 5, 'five retries', 5000);
      assert.deepEqual(delays.slice(0, 5), [50, 100, 200, 400, 400]);
    } finally {
      await c.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('re-opens a serial port after a run of timeouts (the port is closed, not left locked)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-rtu-'));
    const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${dir}/device`, `pty,raw,echo=0,link=${dir}/gateway`], { stdio: 'ignore' });
    const device = new SimulatedModbusDevice([1]);
    const c = new ModbusConnection({
      transport: { kind: 'rtu', path: `${dir}/gateway`, baudRate: 19200, parity: 'none', dataBits: 8, stopBits: 1 },
      timeoutMs: 150, suspendAfter: 99, reconnectAfterTimeouts: 2, backoff: { initialMs: 100, maxMs: 200, jitter: 0 },
    });
    try {
      await waitFor(() => fs.existsSync(`${dir}/device`) && fs.existsSync(`${dir}/gateway`), 'the pty pair');
      device.bank(1).holding[3] = 33;
      await device.startSerial(`${dir}/device`, 19200);
      c.register('t');
      await waitFor(() => c.state === 'connected', 'connected');
      device.fault.silentUnits.add(1);
      for (let i = 0; i < 2; i++) await assert.rejects(c.read(1, 'holding', 3, 1), (e: ModbusError) => e.kind === 'timeout');
      await waitFor(() => c.stats.connects >= 2 && c.state === 'connected', 're-opened the port', 5000);
      device.fault.silentUnits.delete(1);
      assert.deepEqual(await c.read(1, 'holding', 3, 1), [33]);
      assert.equal(c.stats.connectFailures, 0, `no failed re-open (last error: ${c.lastError})`);
    } finally {
      await c.close();
      await device.stop();
      socat.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MQTT: subscribes a filter added between runs of a persistent session, and reopens after idle', async () => {
    const broker = await startAedes(await freePort());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const options = { url, clientId: 'persist-1', protocolVersion: 4 as const, clean: false, keepalive: 30, rejectUnauthorized: true };
    const c = new MqttConnection(options);
    const got: string[] = [];
    try {
      c.register('a');
      const stopOld = c.subscribe('old/topic', 1, () => undefined);
      await waitFor(() => c.state === 'connected', 'connected');
      stopOld(false);
      await c.deregister('a');
      assert.equal(c.state, 'idle');
      c.register('b');
      c.subscribe('new/topic', 1, (topic, payload) => got.push(`${topic} ${payload}`));
      await waitFor(() => c.state === 'connected', 'connected again');
      await new Promise((r) => setTimeout(r, 100));
      const pub = await mqtt.connectAsync(url);
      await pub.publishAsync('new/topic', 'hello', { qos: 1 });
      await pub.endAsync();
      await waitFor(() => got.length === 1, 'the message on the new filter');
      assert.deepEqual(got, ['new/topic hello']);
    } finally {
      await c.close();
      await broker.close();
    }
  });
});
