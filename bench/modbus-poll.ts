/**
 * Modbus poll throughput on loopback: points per second read by edge-sensor (in a real Node-RED runtime, polled
 * back to back through input messages) against raw modbus-serial reading the same map in the same run.
 */
import ModbusRTU from 'modbus-serial';
import { SimulatedModbusDevice } from '../scripts/lib/modbus-device';
import { PUMP_POINTS } from '../scripts/lib/pump';
import { planReads, decodeBlock, pointWidth } from '../nodes/core/sensor/modbus-registers';
import { freePort, waitFor } from '../scripts/lib/net-util';
import { deploy, node } from './runtime';
import { figure, Figure, median } from './report';

const POLLS = 1500;
const ROUNDS = 3;

async function rawPolls(port: number, perPoint: boolean): Promise<number> {
  const client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port });
  client.setID(1);
  client.setTimeout(1000);
  const blocks = planReads(PUMP_POINTS, { defaultUnitId: 1 });
  const read = (area: string, address: number, count: number) =>
    area === 'holding' ? client.readHoldingRegisters(address, count)
      : area === 'input' ? client.readInputRegisters(address, count)
        : area === 'coil' ? client.readCoils(address, count) : client.readDiscreteInputs(address, count);
  const started = process.hrtime.bigint();
  for (let i = 0; i < POLLS; i++) {
    if (perPoint) {
      for (const p of PUMP_POINTS) await read(p.area, p.address, pointWidth(p));
    } else {
      for (const b of blocks) decodeBlock(b, (await read(b.area, b.address, b.count)).data);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise<void>((r) => client.close(() => r()));
  return (POLLS * PUMP_POINTS.length) / seconds;
}

async function sensorPolls(port: number): Promise<number> {
  await deploy([
    { id: 'dev', type: 'edge-modbus-device', transport: 'tcp', host: '127.0.0.1', port, unitId: 1, timeout: 1000 },
    { id: 's', type: 'edge-sensor', source: 'modbus', device: 'dev', topic: 'pump', interval: 3600, outputMode: 'object', onFailure: 'quality', points: PUMP_POINTS, wires: [['out']] },
    { id: 'out', type: 'helper', wires: [] },
  ]);
  const sensor = node('s');
  let received = 0;
  let next: (() => void) | undefined;
  node('out').on('input', () => { received++; next?.(); });
  // wait for the connection: a first poll that comes back good
  await waitFor(async () => {
    const before = received;
    sensor.receive({});
    await new Promise((r) => setTimeout(r, 20));
    return received > before;
  }, 'a first poll', 10_000);
  const started = process.hrtime.bigint();
  for (let i = 0; i < POLLS; i++) {
    await new Promise<void>((resolve) => { next = resolve; sensor.receive({}); });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return (POLLS * PUMP_POINTS.length) / seconds;
}

export async function benchModbusPoll(): Promise<Figure[]> {
  const device = new SimulatedModbusDevice([1]);
  const port = await freePort();
  await device.start(port);
  try {
    const ours: number[] = [];
    const raw: number[] = [];
    const naive: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      raw.push(await rawPolls(port, false));
      ours.push(await sensorPolls(port));
      naive.push(await rawPolls(port, true));
    }
    return [
      figure('modbus_poll_points_per_s', median(ours), 'points/s', median(raw), 'raw modbus-serial, same coalesced requests'),
      figure('modbus_poll_points_per_s_vs_per_point_reads', median(ours), 'points/s', median(naive), 'raw modbus-serial, one request per point'),
    ];
  } finally {
    await device.stop();
  }
}
