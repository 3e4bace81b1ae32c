/**
 * edge-modbus-device's settings from the editor's fields (strings): the connection's options, the default unit id,
 * and every problem named by a message key, so the device and each sensor on it report it in the user's words.
 */
import type { ModbusConnectionOptions } from './modbus-connection';
import { parseUnitTimeouts, validateModbusOptions } from './modbus-rules';
import { Problem, toInt } from '../shared/fields';

export interface ModbusDeviceDefinition {
  transport?: string;
  host?: string;
  port?: string;
  serialPath?: string;
  baudRate?: string;
  parity?: string;
  dataBits?: string;
  stopBits?: string;
  unitId?: string;
  timeout?: string;
  unitTimeouts?: string;
  reconnectMin?: string;
  reconnectMax?: string;
}

export interface ModbusDeviceSettings {
  options: ModbusConnectionOptions;
  defaultUnitId: number;
  problems: Problem[];
}

export function modbusDeviceSettings(def: ModbusDeviceDefinition): ModbusDeviceSettings {
  const reconnectMin = toInt(def.reconnectMin, 1000);
  const reconnectMax = toInt(def.reconnectMax, 30_000);
  const unitTimeouts = parseUnitTimeouts(def.unitTimeouts ?? '');
  const options: ModbusConnectionOptions = {
    transport: def.transport === 'rtu'
      ? {
        kind: 'rtu',
        path: (def.serialPath ?? '').trim(),
        baudRate: toInt(def.baudRate, 9600),
        parity: (def.parity || 'none') as 'none' | 'even' | 'odd', // checked by validateModbusOptions
        dataBits: toInt(def.dataBits, 8) as 7 | 8,
        stopBits: toInt(def.stopBits, 1) as 1 | 2,
      }
      : { kind: 'tcp', host: (def.host ?? '').trim(), port: toInt(def.port, 502) },
    timeoutMs: toInt(def.timeout, 1000),
    unitTimeoutsMs: unitTimeouts.timeouts,
    reconnectAfterTimeouts: 10,
    backoff: { initialMs: reconnectMin, maxMs: reconnectMax },
  };
  const problems: Problem[] = validateModbusOptions(options).map((key) => ({ key }));
  for (const part of unitTimeouts.bad) problems.push({ key: 'unitTimeouts', vars: { part } });
  if (!(reconnectMin >= 100 && reconnectMax >= reconnectMin)) problems.push({ key: 'reconnect' });
  const defaultUnitId = toInt(def.unitId, 1);
  if (!(defaultUnitId >= 0 && defaultUnitId <= 255)) problems.push({ key: 'unitId' });
  return { options, defaultUnitId, problems };
}
