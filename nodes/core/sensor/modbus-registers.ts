/**
 * Modbus register maps: point definitions, decoding/encoding of every data type in every byte and word order,
 * and the planning of as few read requests as possible for a map.
 */
import type { ModbusArea } from '../connections/modbus-connection';
import type { Problem } from '../shared/fields';

export type { ModbusArea };

export type ModbusDataType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'string';
/**
 * Byte layout of multi-register values in the usual vendor notation: A is the most significant byte.
 * ABCD = big-endian words, high word first (Modbus default); CDAB = word swap; BADC = byte swap; DCBA = both.
 */
export type ByteWordOrder = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export const AREAS: readonly ModbusArea[] = ['coil', 'discrete', 'holding', 'input'];
export const DATA_TYPES: readonly ModbusDataType[] = [
  'bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string',
];
export const ORDERS: readonly ByteWordOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];

/** Largest read the protocol allows in one request (Modbus spec, FC1/2 and FC3/4). */
export const MAX_READ_BITS = 2000;
export const MAX_READ_REGISTERS = 125;

export interface PointDefinition {
  name: string;
  area: ModbusArea;
  /** 0-based protocol address */
  address: number;
  type: ModbusDataType;
  order?: ByteWordOrder;
  /** registers, for strings (two characters per register) */
  length?: number;
  /** for bool in a holding/input register: bit 0..15; absent means "register is non-zero" */
  bit?: number;
  scale?: number;
  offset?: number;
  unit?: string;
  /** Modbus unit id, when it differs from the device default */
  unitId?: number;
}

export type PointValue = number | boolean | string;

/** Registers (or bits) a point occupies. */
export function pointWidth(point: PointDefinition): number {
  switch (point.type) {
    case 'bool': case 'int16': case 'uint16': return 1;
    case 'int32': case 'uint32': case 'float32': return 2;
    case 'float64': return 4;
    case 'string': return point.length ?? 1;
  }
}

function isBitArea(area: ModbusArea): boolean {
  return area === 'coil' || area === 'discrete';
}

/** Validates one point of a map; problems as message keys, each naming its point. */
export function validatePoint(point: Partial<PointDefinition>, index = 0): Problem[] {
  const problems: Problem[] = [];
  const named = Boolean(point.name);
  const add = (key: string, vars: Record<string, unknown> = {}) => problems.push(named
    ? { key: 'inPoint', vars: { n: index + 1, name: point.name, problem: { key, vars } } }
    : { key: 'inPointN', vars: { n: index + 1, problem: { key, vars } } });
  if (!point.name || typeof point.name !== 'string' || !point.name.trim()) add('pointName');
  if (!point.area || !AREAS.includes(point.area)) add('pointArea', { areas: AREAS.join(', ') });
  if (!point.type || !DATA_TYPES.includes(point.type)) add('pointType', { types: DATA_TYPES.join(', ') });
  if (!Number.isInteger(point.address) || (point.address as number) < 0 || (point.address as number) > 65535) add('pointAddress');
  if (point.area && isBitArea(point.area) && point.type && point.type !== 'bool') add('pointBits', { area: point.area });
  if (point.order !== undefined && !ORDERS.includes(point.order)) add('pointOrder', { orders: ORDERS.join(', ') });
  if (point.type === 'string' && (!Number.isInteger(point.length) || (point.length as number) < 1 ||
      (point.length as number) > MAX_READ_REGISTERS)) {
    add('pointLength', { max: MAX_READ_REGISTERS });
  }
  if (point.bit !== undefined && (!Number.isInteger(point.bit) || point.bit < 0 || point.bit > 15)) add('pointBit');
  for (const field of ['scale', 'offset'] as const) {
    if (point[field] !== undefined && !Number.isFinite(point[field])) add('pointNumber', { field });
  }
  if (point.unitId !== undefined && (!Number.isInteger(point.unitId) || point.unitId < 0 || point.unitId > 255)) add('pointUnitId');
  if (problems.length === 0 && point.address! + pointWidth(point as PointDefinition) > 65536) add('pointPastEnd');
  return problems;
}

/** Validates a whole map: each point, plus duplicate names; problems as message keys. */
export function validateRegisterMap(points: Partial<PointDefinition>[]): Problem[] {
  if (!Array.isArray(points) || points.length === 0) return [{ key: 'noPoints' }];
  const problems = points.flatMap((p, i) => validatePoint(p, i));
  const seen = new Set<string>();
  for (const p of points) {
    if (p.name && seen.has(p.name)) problems.push({ key: 'pointTwice', vars: { name: p.name } });
    if (p.name) seen.add(p.name);
  }
  return problems;
}

/** Puts the registers of a multi-register value into ABCD order (big-endian bytes). */
function registersToBuffer(registers: ArrayLike<number>, order: ByteWordOrder): Buffer {
  const n = registers.length;
  const buf = Buffer.alloc(n * 2);
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  for (let i = 0; i < n; i++) {
    const word = registers[swapWords ? n - 1 - i : i] & 0xffff;
    const hi = word >> 8;
    const lo = word & 0xff;
    buf[i * 2] = swapBytes ? lo : hi;
    buf[i * 2 + 1] = swapBytes ? hi : lo;
  }
  return buf;
}

/** Inverse of registersToBuffer. */
function bufferToRegisters(buf: Buffer, order: ByteWordOrder): number[] {
  const n = buf.length / 2;
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const hi = swapBytes ? buf[i * 2 + 1] : buf[i * 2];
    const lo = swapBytes ? buf[i * 2] : buf[i * 2 + 1];
    out[swapWords ? n - 1 - i : i] = (hi << 8) | lo;
  }
  return out;
}

/**
 * Text runs from the first register to the last, so only a byte swap within each register applies to strings;
 * a word order (CDAB, DCBA) would reverse the characters in pairs.
 */
function stringSafeOrder(point: PointDefinition): ByteWordOrder {
  const order = point.order ?? 'ABCD';
  if (point.type !== 'string') return order;
  return order === 'BADC' || order === 'DCBA' ? 'BADC' : 'ABCD';
}

/**
 * Raw value of a point from the registers starting at the point's address (length pointWidth).
 * Strings are single-byte characters, two per register, ending at the first NUL, trailing spaces removed.
 */
export function decodeRaw(registers: ArrayLike<number>, point: PointDefinition): PointValue {
  const order = stringSafeOrder(point);
  if (point.type === 'bool') {
    const word = registers[0] & 0xffff;
    return point.bit === undefined ? word !== 0 : ((word >> point.bit) & 1) === 1;
  }
  const buf = registersToBuffer(registers, order);
  switch (point.type) {
    case 'int16': return buf.readInt16BE(0);
    case 'uint16': return buf.readUInt16BE(0);
    case 'int32': return buf.readInt32BE(0);
    case 'uint32': return buf.readUInt32BE(0);
    case 'float32': return buf.readFloatBE(0);
    case 'float64': return buf.readDoubleBE(0);
    case 'string': {
      const text = buf.toString('latin1');
      const end = text.indexOf('\0');
      return (end < 0 ? text : text.slice(0, end)).replace(/ +$/, '');
    }
  }
}

/** Engineering value: raw * scale + offset for numbers; booleans and strings pass unchanged. */
export function decodePoint(registers: ArrayLike<number>, point: PointDefinition): PointValue {
  const raw = decodeRaw(registers, point);
  if (typeof raw !== 'number') return raw;
  return applyScale(raw, point);
}

export function applyScale(raw: number, point: PointDefinition): number {
  const scale = point.scale ?? 1;
  const offset = point.offset ?? 0;
  if (scale === 1 && offset === 0) return raw;
  // Round away binary noise such as 0.1 * 3 = 0.30000000000000004 that scaling adds, keeping 15 significant
  // digits (a double holds 15-17), so large counters keep their resolution.
  return Number((raw * scale + offset).toPrecision(15));
}

/**
 * Registers that hold an engineering value (the inverse of decodePoint); used by simulated devices and tests.
 * Integer types round after removing scale/offset and saturate at the type's range.
 */
export function encodePoint(value: PointValue, point: PointDefinition): number[] {
  const order = stringSafeOrder(point);
  if (point.type === 'bool') {
    const on = Boolean(value);
    return [point.bit === undefined ? (on ? 1 : 0) : (on ? 1 << point.bit : 0)];
  }
  if (point.type === 'string') {
    const buf = Buffer.alloc(pointWidth(point) * 2);
    buf.write(String(value).slice(0, buf.length), 'latin1');
    return bufferToRegisters(buf, order);
  }
  const raw = ((value as number) - (point.offset ?? 0)) / (point.scale ?? 1);
  const buf = Buffer.alloc(pointWidth(point) * 2);
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  switch (point.type) {
    case 'int16': buf.writeInt16BE(clamp(raw, -32768, 32767), 0); break;
    case 'uint16': buf.writeUInt16BE(clamp(raw, 0, 65535), 0); break;
    case 'int32': buf.writeInt32BE(clamp(raw, -2147483648, 2147483647), 0); break;
    case 'uint32': buf.writeUInt32BE(clamp(raw, 0, 4294967295), 0); break;
    case 'float32': buf.writeFloatBE(raw, 0); break;
    case 'float64': buf.writeDoubleBE(raw, 0); break;
  }
  return bufferToRegisters(buf, order);
}

/** One read request covering one or more points. */
export interface ReadBlock {
  unitId: number;
  area: ModbusArea;
  address: number;
  count: number;
  points: PointDefinition[];
}

export interface PlanOptions {
  defaultUnitId: number;
  /** unused registers/bits a request may read through to join two groups (0 = only contiguous/overlapping) */
  maxGap?: number;
  maxRegisters?: number;
  maxBits?: number;
}

/**
 * Groups points into as few requests as possible: same unit and area, sorted by address, merged while the span
 * stays within the protocol limit and the hole between neighbours is at most maxGap.
 */
export function planReads(points: PointDefinition[], options: PlanOptions): ReadBlock[] {
  const maxGap = options.maxGap ?? 0;
  const groups = new Map<string, PointDefinition[]>();
  for (const p of points) {
    const key = `${p.unitId ?? options.defaultUnitId}|${p.area}`;
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(p);
  }
  const blocks: ReadBlock[] = [];
  for (const [key, list] of groups) {
    const [unit, area] = key.split('|') as [string, ModbusArea];
    const limit = isBitArea(area) ? options.maxBits ?? MAX_READ_BITS : options.maxRegisters ?? MAX_READ_REGISTERS;
    const sorted = [...list].sort((a, b) => a.address - b.address);
    let current: ReadBlock | undefined;
    for (const p of sorted) {
      const end = p.address + pointWidth(p);
      const currentEnd = current ? current.address + current.count : 0;
      const joinable = current && p.address - currentEnd <= maxGap && Math.max(end, currentEnd) - current.address <= limit;
      if (current && joinable) {
        current.count = Math.max(end, currentEnd) - current.address;
        current.points.push(p);
      } else {
        current = { unitId: Number(unit), area, address: p.address, count: pointWidth(p), points: [p] };
        blocks.push(current);
      }
    }
  }
  return blocks;
}

/** Decodes every point of a block from the words (or bits) the device returned for it. */
export function decodeBlock(block: ReadBlock, data: ArrayLike<number | boolean>): Map<string, PointValue> {
  const values = new Map<string, PointValue>();
  for (const p of block.points) {
    const start = p.address - block.address;
    if (isBitArea(block.area)) {
      values.set(p.name, Boolean(data[start]));
    } else {
      const words = Array.prototype.slice.call(data, start, start + pointWidth(p)) as number[];
      values.set(p.name, decodePoint(words, p));
    }
  }
  return values;
}
