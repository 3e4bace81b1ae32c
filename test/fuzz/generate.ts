/**
 * Generated bad input for the fuzz tier: values of every kind a flow can put in a message (wrong types, objects
 * without a prototype, BigInt, Dates, Buffers, typed arrays, circular references, huge strings and arrays, deep
 * nesting, throwing getters and toJSON), topics MQTT cannot carry, and bogus commands. Seeded: a failure names
 * its seed and message number, and the same seed makes the same messages.
 */
import { seededRandom } from '../../nodes/core/sensor/simulator';

// built once: the large values are shared between messages (a 10 MB string per message would test the machine)
const HUGE_STRING = 'x'.repeat(10 * 1024 * 1024);
const LONG_TOPIC = 'plant/'.repeat(12_000);
const WIDE_OBJECT = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i]));
const LONG_ARRAY = Array.from({ length: 200_000 }, (_, i) => i % 97);
const BIG_BUFFER = Buffer.alloc(256 * 1024, 7);
const DEEP = (() => {
  let o: Record<string, unknown> = { v: 1 };
  for (let i = 0; i < 20_000; i++) o = { nested: o };
  return o;
})();

function circular(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

function noPrototype(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(null) as Record<string, unknown>, fields);
}

function throwingGetter(): Record<string, unknown> {
  return Object.defineProperty({ a: 1 }, 'temperature', { enumerable: true, get() { throw new Error('getter says no'); } });
}

const throwingToJson = () => ({ v: 1, toJSON() { throw new Error(`toJSON source ${HUGE_STRING.slice(0, 1000)}`); } });

export type Random = () => number;

export function fuzzRandom(seed: number): Random {
  return seededRandom(seed);
}

const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)];

/** Any value at all, from plausible to hostile. */
export function anyValue(r: Random, depth = 0): unknown {
  const kinds: Array<() => unknown> = [
    () => r() * 200 - 50,
    () => Math.round(r() * 100),
    () => pick(r, [NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE, 1e308, -1e308, 2 ** 53 + 1]),
    () => pick(r, ['', ' ', '42', '4e2', 'NaN', 'abc', 'true', '{"a":1}', '[1,2', '\u0000', '💥'.repeat(10)]),
    () => (r() < 0.02 ? HUGE_STRING : 'x'.repeat(Math.floor(r() * 300))),
    () => r() < 0.5,
    () => null,
    () => undefined,
    () => BigInt(Math.floor(r() * 1e6)) * 10n ** 20n,
    () => new Date(r() < 0.5 ? Date.now() : NaN),
    () => (r() < 0.05 ? BIG_BUFFER : Buffer.from([1, 2, 3, Math.floor(r() * 255)])),
    () => pick(r, [new Float32Array([1.5, NaN, 3]), new Uint8Array(1000), new Float64Array(4096).fill(1), new Int32Array([-1, 2])]),
    () => (r() < 0.05 ? LONG_ARRAY : Array.from({ length: Math.floor(r() * 8) }, () => (depth < 2 ? anyValue(r, depth + 1) : r()))),
    () => Array.from({ length: Math.floor(r() * 10) }, () => r() * 10),
    () => ({ temperature: r() * 120, pressure: r() * 8, flow: r() * 100 }),
    () => ({ temperature: { mean: r() * 100, min: 0, max: 120, count: 10 } }),
    () => noPrototype({ temperature: r() * 100, v: 1 }),
    () => (r() < 0.05 ? WIDE_OBJECT : Object.fromEntries(Array.from({ length: Math.floor(r() * 50) }, (_, i) => [`c${i}`, r()]))),
    () => (r() < 0.05 ? DEEP : { a: { b: { c: r() } } }),
    circular,
    throwingGetter,
    throwingToJson,
    () => () => 'a function',
    () => Symbol('s'),
    () => new Map([['a', 1]]),
    () => new Set([1, 2]),
    () => /regex/,
    () => (depth < 2 ? { payload: anyValue(r, depth + 1) } : {}),
  ];
  return pick(r, kinds)();
}

/** A topic: usually a plausible one, often one MQTT or a stream table cannot take. */
export function anyTopic(r: Random): unknown {
  return pick(r, [
    () => `plant1/pump${Math.floor(r() * 5)}/vibration`,
    () => 'temperature',
    () => 'pump/+/x',
    () => 'pump/#',
    () => 'a\u0000b',
    () => '$SYS/broker/load',
    () => LONG_TOPIC,
    () => '',
    () => 'a$&b$`c',
    () => noPrototype({ x: 1 }),
    () => 42,
    () => undefined,
    () => null,
    () => ['a', 'b'],
    () => BigInt(7),
    () => ({ toString() { throw new Error('no'); } }),
  ])();
}

export interface MessageShape {
  /** commands this node knows, with the fields they take */
  commands: string[];
  /** extra fields worth corrupting (msg.features, msg.alarmId, ...) */
  fields: string[];
}

/** One message: a random subset of the contract's fields, each with a random (often hostile) value. */
export function anyMessage(r: Random, shape: MessageShape): Record<string, unknown> {
  const msg: Record<string, unknown> = { _msgid: `fuzz-${Math.floor(r() * 1e9).toString(36)}` };
  if (r() < 0.9) msg.topic = anyTopic(r);
  if (r() < 0.9) msg.payload = anyValue(r);
  if (r() < 0.3) msg.ts = pick(r, [Date.now(), Date.now() - 1e6 * r(), NaN, -1, '2026-01-01', 1e20, null, BigInt(1)]);
  if (r() < 0.2) msg.quality = pick(r, ['good', 'uncertain', 'bad', 'GOOD', 3, null, {}]);
  if (r() < 0.15) msg.command = r() < 0.8 ? pick(r, shape.commands) : anyValue(r);
  for (const f of shape.fields) if (r() < 0.15) msg[f] = anyValue(r);
  if (r() < 0.05) Object.setPrototypeOf(msg, null);
  return msg;
}
