/**
 * One poll of a register map: the planned requests are issued in order through a reader (the shared connection),
 * each block decoded; a failed block marks only its own points as failed.
 */
import { decodeBlock, planReads, PointDefinition, PointValue, ReadBlock, ModbusArea } from './modbus-registers';
import { errorText } from '../shared/errors';
import { Reading } from './sensor-output';

export interface RegisterReader {
  read(unitId: number, area: ModbusArea, address: number, count: number): Promise<ArrayLike<number | boolean>>;
}

export interface PollerOptions {
  defaultUnitId: number;
  maxGap?: number;
}

export class ModbusPoller {
  readonly blocks: ReadBlock[];

  constructor(readonly points: PointDefinition[], options: PollerOptions) {
    this.blocks = planReads(points, options);
  }

  /**
   * One poll. Its `ts` is when the values were read: the response to the poll's last request that answered (a poll
   * of several requests takes them one after another), never when the poll was queued or started, which on a
   * shared line can be a timeout or two earlier. A poll where nothing answered is stamped when it ended.
   */
  async poll(reader: RegisterReader, now: () => number = Date.now): Promise<Reading> {
    let ts: number | undefined;
    const values: Record<string, PointValue> = {};
    const errors: Record<string, string> = {};
    for (const block of this.blocks) {
      try {
        const data = await reader.read(block.unitId, block.area, block.address, block.count);
        if (data.length < block.count) throw new Error(`device returned ${data.length} of ${block.count} values`);
        ts = now();
        for (const [name, value] of decodeBlock(block, data)) {
          // NaN/Infinity is how many devices mark a float "not available": not a good reading
          if (typeof value === 'number' && !Number.isFinite(value)) errors[name] = `the device returned ${value}`;
          else values[name] = value;
        }
      } catch (err) {
        for (const p of block.points) errors[p.name] = errorText(err);
      }
    }
    return { ts: ts ?? now(), values, errors };
  }

  /** Units by point name, for the output messages. */
  units(): Record<string, string> {
    const units: Record<string, string> = {};
    for (const p of this.points) if (p.unit) units[p.name] = p.unit;
    return units;
  }
}
