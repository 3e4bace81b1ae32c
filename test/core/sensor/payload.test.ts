import assert from 'node:assert/strict';
import { parsePayload, toEpochMs, toQuality, toMeasurement, extractMeasurement } from '../../../nodes/core/sensor/payload';
import { parsePath, getPath } from '../../../nodes/core/shared/message';
import { toSample } from '../../../nodes/core/streams/sample';

const buf = (s: string) => Buffer.from(s);

describe('core: payload parsing', () => {
  it('auto-detects JSON, numbers, booleans and text', () => {
    assert.deepEqual(parsePayload(buf('{"t":1}'), 'auto', 1024), { ok: true, value: { t: 1 } });
    assert.deepEqual(parsePayload(buf(' 23.5 '), 'auto', 1024), { ok: true, value: 23.5 });
    assert.deepEqual(parsePayload(buf('true'), 'auto', 1024), { ok: true, value: true });
    assert.deepEqual(parsePayload(buf('[1,2]'), 'auto', 1024), { ok: true, value: [1, 2] });
    assert.deepEqual(parsePayload(buf('running'), 'auto', 1024), { ok: true, value: 'running' });
  });

  it('explains what is wrong with a bad payload', () => {
    const bad = parsePayload(buf('{"t": 1,'), 'auto', 1024);
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /^payload looks like JSON but is not valid \(.+\): "\{"t": 1,"$/);
    assert.match((parsePayload(buf('abc'), 'json', 1024) as { error: string }).error, /^payload is not valid JSON/);
    assert.deepEqual(parsePayload(buf('12x'), 'number', 1024), { ok: false, error: 'payload "12x" is not a number' });
    assert.deepEqual(parsePayload(buf(''), 'number', 1024), { ok: false, error: 'payload "" is not a number' });
    assert.deepEqual(parsePayload(Buffer.alloc(2048), 'auto', 1024), {
      ok: false, error: 'payload of 2 KiB is larger than the 1 KiB limit',
    });
  });

  it('reads property paths with dots, indexes and quoted keys', () => {
    assert.deepEqual(parsePath('a.b[2]["c d"].e'), ['a', 'b', 2, 'c d', 'e']);
    assert.equal(getPath({ a: { b: [0, 0, { 'c d': { e: 5 } }] } }, 'a.b[2]["c d"].e'), 5);
    assert.equal(getPath({ a: 1 }, 'a.b.c'), undefined);
    assert.throws(() => parsePath('a..b'), /cannot read property path "a..b"/);
    assert.throws(() => parsePath('a[x]'), /cannot read property path/);
  });

  it('reads timestamps in s, ms, µs, ns and ISO 8601', () => {
    const ms = Date.UTC(2026, 10, 24, 12, 0, 0);
    assert.deepEqual(toEpochMs(ms / 1000), { ok: true, value: ms });
    assert.deepEqual(toEpochMs(ms), { ok: true, value: ms });
    assert.deepEqual(toEpochMs(ms * 1000), { ok: true, value: ms });
    assert.deepEqual(toEpochMs(ms * 1e6), { ok: true, value: ms });
    assert.deepEqual(toEpochMs('2026-11-24T12:00:00Z'), { ok: true, value: ms });
    assert.deepEqual(toEpochMs(String(ms)), { ok: true, value: ms });
    assert.deepEqual(toEpochMs('Tue, 24 Nov 2026 12:00:00 GMT'), { ok: true, value: ms });
    assert.equal(toEpochMs('yesterday').ok, false);
    assert.equal(toEpochMs(-5).ok, false);
    // an elapsed time or a counter is not a date; nor is text that a lenient date parser would accept
    assert.equal(toEpochMs(12.5).ok, false);
    assert.equal(toEpochMs('temperature 12').ok, false);
    assert.equal(toEpochMs(Date.UTC(2150, 0, 1)).ok, false);
  });

  it('maps quality strings, booleans and OPC codes', () => {
    assert.equal(toQuality('bad'), 'bad');
    assert.equal(toQuality(true), 'good');
    assert.equal(toQuality(192), 'good');
    assert.equal(toQuality(0xd8), 'good');
    assert.equal(toQuality(64), 'uncertain');
    assert.equal(toQuality(0x54), 'uncertain');
    assert.equal(toQuality(0), 'bad');
    assert.equal(toQuality(256), 'bad', 'vendor bits do not make a bad quality good');
    assert.equal(toQuality(128), 'bad');
    assert.equal(toQuality('ok'), undefined);
  });

  it('accepts only measurements', () => {
    assert.deepEqual(toMeasurement('7.5', false), { ok: true, value: 7.5 });
    assert.deepEqual(toMeasurement(NaN, false), { ok: false, error: 'value NaN is not a finite number' });
    assert.deepEqual(toMeasurement([1, 'x'], false), { ok: false, error: 'element 1 of the array is not a finite number' });
    assert.deepEqual(toMeasurement('on', false), { ok: false, error: 'value "on" is not numeric' });
    assert.deepEqual(toMeasurement('on', true), { ok: true, value: 'on' });
    assert.deepEqual(toMeasurement(null, false), { ok: false, error: 'the value is null' });
  });

  it('extracts value, timestamp and quality, leaving metadata out of object payloads', () => {
    const parsed = { ts: 1700000000, temperature: 61.5, pressure: 4.2, q: 'uncertain' };
    assert.deepEqual(extractMeasurement(parsed, { tsPath: 'auto', qualityPath: 'q', allowText: false }, 1), {
      ok: true, value: { value: { temperature: 61.5, pressure: 4.2 }, ts: 1700000000000, quality: 'uncertain' },
    });
    assert.deepEqual(extractMeasurement(parsed, { valuePath: 'temperature', tsPath: '', allowText: false }, 99), {
      ok: true, value: { value: 61.5, ts: 99, quality: undefined },
    });
    assert.deepEqual(extractMeasurement(parsed, { valuePath: 'flow', tsPath: 'auto', allowText: false }, 1), {
      ok: false, error: 'payload has no "flow"',
    });
    assert.deepEqual(extractMeasurement({ v: 1, at: 'never' }, { valuePath: 'v', tsPath: 'at', allowText: false }, 1), {
      ok: false, error: 'timestamp "never" is not a date between 2000 and 2100 (from "at")',
    });
    assert.deepEqual(extractMeasurement({ v: 1 }, { picked: 42, tsPath: 'auto', allowText: false }, 5), {
      ok: true, value: { value: 42, ts: 5, quality: undefined },
    });
  });

  it('turns payloads into samples for windows, refusing what is not numeric', () => {
    assert.deepEqual(toSample(4.5), { ok: true, value: 4.5 });
    assert.deepEqual(toSample(' 7 '), { ok: true, value: 7 });
    assert.deepEqual(toSample({ t: 60, on: true, label: 'x', nested: { a: 1 }, bad: NaN }), { ok: true, value: { t: 60, on: 1 } });
    assert.deepEqual(toSample(NaN), { ok: false, error: 'payload NaN is not a finite number' });
    assert.deepEqual(toSample(Infinity), { ok: false, error: 'payload Infinity is not a finite number' });
    assert.deepEqual(toSample({ label: 'x' }), { ok: false, error: 'the payload object has no numeric field' });
    assert.deepEqual(toSample(undefined), { ok: false, error: 'the payload is missing' });
  });

  it("takes another aggregate's statistics as their mean, whole or per field", () => {
    assert.deepEqual(toSample({ count: 10, mean: 61.5, min: 60, max: 63 }), { ok: true, value: 61.5 });
    assert.deepEqual(toSample({ temperature: { count: 10, mean: 61.5, max: 63 }, pressure: { count: 10, mean: 2.25 }, speed: 1480 }),
      { ok: true, value: { temperature: 61.5, pressure: 2.25, speed: 1480 } });
  });
});
