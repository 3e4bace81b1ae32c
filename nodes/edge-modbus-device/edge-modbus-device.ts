/**
 * edge-modbus-device (config): one Modbus TCP or RTU connection with a serialized request queue, shared by every
 * edge-sensor that polls the device (or the devices on one serial line).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import {
  ModbusConnection, ModbusConnectionOptions, parseUnitTimeouts, validateModbusOptions,
} from '../core/connections/modbus-connection';
import { ConnectionState } from '../core/shared/status';
import { ModbusDeviceHandle, statusFeed } from '../core/connections/config-handles';
import { toInt } from '../core/shared/fields';
import { errorText } from '../core/shared/errors';

interface DeviceDef extends NodeDef {
  transport: string;
  host: string;
  port: string;
  serialPath: string;
  baudRate: string;
  parity: string;
  dataBits: string;
  stopBits: string;
  unitId: string;
  timeout: string;
  unitTimeouts: string;
  reconnectMin: string;
  reconnectMax: string;
}

type EdgeModbusDeviceNode = Node & ModbusDeviceHandle;

function deviceOptions(def: DeviceDef): ModbusConnectionOptions {
  const reconnectMin = Math.max(100, toInt(def.reconnectMin, 1000));
  return {
    transport: def.transport === 'rtu'
      ? {
        kind: 'rtu',
        path: (def.serialPath ?? '').trim(),
        baudRate: toInt(def.baudRate, 9600),
        parity: (def.parity || 'none') as 'none' | 'even' | 'odd',
        dataBits: toInt(def.dataBits, 8) as 7 | 8,
        stopBits: toInt(def.stopBits, 1) as 1 | 2,
      }
      : { kind: 'tcp', host: (def.host ?? '').trim(), port: toInt(def.port, 502) },
    timeoutMs: toInt(def.timeout, 1000),
    unitTimeoutsMs: parseUnitTimeouts(def.unitTimeouts),
    reconnectAfterTimeouts: 10,
    backoff: { initialMs: reconnectMin, maxMs: Math.max(reconnectMin, toInt(def.reconnectMax, 30_000)) },
  };
}

export = function register(RED: NodeAPI): void {
  function EdgeModbusDevice(this: EdgeModbusDeviceNode, def: DeviceDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let options: ModbusConnectionOptions | undefined;
    const problems: string[] = [];
    try {
      options = deviceOptions(def);
      problems.push(...validateModbusOptions(options));
    } catch (err) {
      problems.push(errorText(err));
    }
    node.defaultUnitId = toInt(def.unitId, 1);
    if (node.defaultUnitId < 0 || node.defaultUnitId > 255) problems.push('the unit id must be 0 to 255');
    node.problem = problems.length ? problems.join('; ') : undefined;
    node.connection = node.problem || !options ? undefined : new ModbusConnection(options);
    if (node.problem) node.error(RED._('edge-modbus-device.errors.config', { problems: node.problem }));

    node.onStatus = statusFeed(
      node.connection,
      (state) => RED._(`edge-modbus-device.state.${state}`),
      RED._('edge-modbus-device.state.config'),
    );

    node.connection?.on('state', (state: ConnectionState, error?: string) => {
      const where = node.connection!.description;
      if (state === 'connected') node.log(RED._('edge-modbus-device.log.connected', { device: where }));
      if (state === 'waiting') node.warn(RED._('edge-modbus-device.log.lost', { device: where, error: error || '-' }));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const closing = node.connection?.close() ?? Promise.resolve();
      closing.then(() => done(), () => done());
    });
  }

  RED.nodes.registerType('edge-modbus-device', EdgeModbusDevice);
};
