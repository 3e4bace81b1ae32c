/**
 * Modbus connection settings as a user types them, with no connection behind them (so the editor applies the same
 * rules): the line's options and the per-unit timeouts.
 */
import type { ModbusConnectionOptions } from './modbus-connection';

/** Per-unit response timeouts, `3=2000, 7:500`; the parts that are not unit=milliseconds are returned too. */
export function parseUnitTimeouts(text: string): { timeouts: Record<number, number>; bad: string[] } {
  const timeouts: Record<number, number> = {};
  const bad: string[] = [];
  const normalised = String(text ?? '').replace(/\s*([=:])\s*/g, '$1');
  for (const part of normalised.split(/[,;\s]+/).filter(Boolean)) {
    const m = /^(\d{1,3})[=:](\d+)$/.exec(part);
    if (!m || Number(m[1]) > 255 || Number(m[2]) < 1) bad.push(part.slice(0, 40));
    else timeouts[Number(m[1])] = Number(m[2]);
  }
  return { timeouts, bad };
}

/** Checks connection settings; returns problems as message keys (empty when valid). */
export function validateModbusOptions(o: ModbusConnectionOptions): string[] {
  const problems: string[] = [];
  const t = o.transport;
  if (t.kind === 'tcp') {
    if (!t.host) problems.push('host');
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) problems.push('port');
  } else {
    if (!t.path) problems.push('serialPath');
    if (!Number.isInteger(t.baudRate) || t.baudRate < 50) problems.push('baudRate');
    if (!['none', 'even', 'odd'].includes(t.parity)) problems.push('parity');
    if (t.dataBits !== 7 && t.dataBits !== 8) problems.push('dataBits');
    if (t.stopBits !== 1 && t.stopBits !== 2) problems.push('stopBits');
  }
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 10) problems.push('timeout');
  return problems;
}
