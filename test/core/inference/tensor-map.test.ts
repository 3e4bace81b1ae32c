import assert from 'node:assert/strict';
import { TensorInfo } from '../../../nodes/core/models/model-manifest';
import { checkPostOptions, postprocess } from '../../../nodes/core/inference/postprocess';
import { InputError, mapInput, MappingOptions, mergeInputs, plainNumber, splitOutputs, toNested } from '../../../nodes/core/inference/tensor-map';

const features4: TensorInfo = { name: 'x', type: 'float32', shape: ['batch', 4] };
const opts = (o: Partial<MappingOptions> = {}): MappingOptions => ({ nan: 'reject', maxValues: 10_000, ...o });
const values = (m: ReturnType<typeof mapInput>, name = 'x') => Array.from(m.feeds[name].data as ArrayLike<number | bigint>);

describe('core: tensor mapping', () => {
  it('maps every payload form to the declared input', () => {
    const flat = mapInput([1, 2, 3, 4], [features4], opts());
    assert.deepEqual([flat.feeds.x.dims, values(flat), flat.rows, flat.batched], [[1, 4], [1, 2, 3, 4], 1, false]);
    const typed = mapInput(new Float64Array([1, 2, 3, 4]), [features4], opts());
    assert.deepEqual([typed.feeds.x.dims, values(typed)], [[1, 4], [1, 2, 3, 4]]);
    const nested = mapInput([[1, 2, 3, 4], [5, 6, 7, 8]], [features4], opts());
    assert.deepEqual([nested.feeds.x.dims, values(nested), nested.rows, nested.batched], [[2, 4], [1, 2, 3, 4, 5, 6, 7, 8], 2, true]);
    const named = mapInput({ d: 4, b: 2, a: 1, c: 3, extra: 'ignored' }, [features4], opts({ features: ['a', 'b', 'c', 'd'] }));
    assert.deepEqual(values(named), [1, 2, 3, 4]);
    const tensors = mapInput({ x: [1, 2, 3, 4], y: [[1, 0]] }, [features4, { name: 'y', type: 'int64', shape: [-1, 2] }], opts());
    assert.deepEqual(values(tensors, 'y'), [1n, 0n]);
    // a vector named element by element (edge-aggregate's msg.features) is put in the model's order
    const reordered = mapInput([30, 10, 40, 20], [features4], opts({ features: ['a', 'b', 'c', 'd'], payloadFeatures: ['c', 'a', 'd', 'b'] }));
    assert.deepEqual(values(reordered), [10, 20, 30, 40]);
    // a flat vector for a fixed multi-dimensional sample, and a fixed shape without a batch dimension
    assert.deepEqual(mapInput([1, 2, 3, 4, 5, 6], [{ name: 'x', type: 'float32', shape: ['n', 2, 3] }], opts()).feeds.x.dims, [1, 2, 3]);
    assert.deepEqual(mapInput([1, 2, 3], [{ name: 'x', type: 'float32', shape: [3] }], opts()).feeds.x.dims, [3]);
    assert.deepEqual(mapInput(7, [{ name: 'x', type: 'float32', shape: [1] }], opts()).feeds.x.dims, [1]);
  });

  it('converts to every supported element type, checking what does not fit', () => {
    const spec = (type: string): TensorInfo[] => [{ name: 'x', type, shape: ['n', 3] }];
    assert.ok(mapInput([1.5, 2, 3], spec('float32'), opts()).feeds.x.data instanceof Float32Array);
    assert.ok(mapInput([1.5, 2, 3], spec('float64'), opts()).feeds.x.data instanceof Float64Array);
    assert.deepEqual(values(mapInput([1, -2, 3], spec('int32'), opts())), [1, -2, 3]);
    assert.deepEqual(values(mapInput([1, '9007199254740993', 3n], spec('int64'), opts())), [1n, 9007199254740993n, 3n]);
    assert.deepEqual(values(mapInput([true, false, 1], spec('bool'), opts())), [1, 0, 1]);
    assert.deepEqual(values(mapInput([0, 255, 7], spec('uint8'), opts())), [0, 255, 7]);
    assert.deepEqual(values(mapInput([-128, 127, 0], spec('int8'), opts())), [-128, 127, 0]);
    const refused: Array<[unknown, string, RegExp]> = [
      [[1.5, 2, 3], 'int32', /element 0 is 1.5, expected an integer for int32/],
      [[1, 2, 3e10], 'int32', /element 2 is 30000000000, outside the int32 range/],
      [[1, 2, 2 ** 60], 'int64', /too large to be exact/],
      [[256, 0, 0], 'uint8', /outside the uint8 range/],
      [[1, 'x', 3], 'float32', /element 1 is the text "x", expected a number/],
      [[1, null, 3], 'float32', /element 1 is null/],
      [[2, 0, 1], 'bool', /expected true\/false or 0\/1/],
      [[1, NaN, 3], 'float32', /element 1 is NaN; NaN and infinite values are rejected/],
      [[1, Infinity, 3], 'float64', /element 1 is Infinity/],
    ];
    for (const [payload, type, message] of refused) {
      assert.throws(() => mapInput(payload, spec(type), opts()), (e: Error) => e instanceof InputError && message.test(e.message), `${type} ${String(payload)}`);
    }
    // NaN may be passed on to float inputs when the node says so, never to integer ones
    assert.ok(Number.isNaN(values(mapInput([1, NaN, 3], spec('float32'), opts({ nan: 'pass' })))[1] as number));
    assert.throws(() => mapInput([1, NaN, 3], spec('int32'), opts({ nan: 'pass' })), /NaN/);
  });

  it('names the expected and the received shape, missing features and inputs', () => {
    const cases: Array<[unknown, TensorInfo[], Partial<MappingOptions>, string]> = [
      [[1, 2, 3, 4, 5, 6], [features4], {}, 'input "x" expects shape [batch, 4], received [6]'],
      [[[1, 2], [3, 4]], [features4], {}, 'input "x" expects shape [batch, 4], received [2, 2]'],
      [[[1, 2, 3, 4], [5, 6, 7]], [features4], {}, 'input "x" is not rectangular: expected 4 element(s) at depth 2'],
      [{ a: 1, b: 2 }, [features4], { features: ['a', 'b', 'c', 'd'] }, 'missing feature(s): c, d'],
      [{ a: 1 }, [features4], {}, 'the payload object must name the inputs (x)'],
      [{ x: [1, 2, 3, 4] }, [features4, { name: 'y', type: 'float32', shape: ['n', 1] }], {}, 'missing input(s): y'],
      [[1, 2, 3, 4], [features4, { name: 'y', type: 'float32', shape: ['n', 1] }], {}, 'the model has 2 inputs (x, y): send an object with one array per input'],
      ['text', [features4], {}, 'the payload must be a numeric array or an object, got the text "text"'],
      [undefined, [features4], {}, 'the payload must be a numeric array or an object, got missing'],
      [new Array(20_000).fill(0), [features4], {}, 'input "x" has 20000 values, more than the limit of 10000'],
      [{ x: [[1, 2, 3, 4]], y: [[1], [2]] }, [features4, { name: 'y', type: 'float32', shape: ['n', 1] }], {}, 'inputs disagree on the batch size: 1 and 2 (input "y")'],
    ];
    for (const [payload, inputs, o, message] of cases) {
      assert.throws(() => mapInput(payload, inputs, opts(o)), (e: Error) => e instanceof InputError && e.message === message, message);
    }
  });

  it('applies the manifest preprocessing per feature, for every row', () => {
    const p = { scale: [1, 2, 0.5, 10], offset: [0, -1, 1, 0] };
    const m = mapInput([[1, 1, 2, 0.1], [2, 2, 4, 0.2]], [features4], opts({ preprocessing: p }));
    assert.deepEqual(values(m), [1, 1, 2, 1, 2, 3, 3, 2]);
    assert.throws(() => mapInput([1, 2, 3], [{ name: 'x', type: 'float32', shape: ['n', 3] }], opts({ preprocessing: p })), /preprocessing has 4 features/);
  });

  it('merges messages along the batch dimension and splits the outputs back in order', () => {
    const items = [mapInput([1, 2, 3, 4], [features4], opts()), mapInput([[5, 6, 7, 8], [9, 10, 11, 12]], [features4], opts())];
    assert.equal(items[0].batchKey, items[1].batchKey);
    const merged = mergeInputs(items);
    assert.deepEqual([merged.x.dims, Array.from(merged.x.data as Float32Array)], [[3, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]);
    const outputs = { y: { type: 'float32', data: Float32Array.from([10, 20, 30]), dims: [3] }, z: { type: 'int64', data: BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), dims: [3, 2] } };
    const split = splitOutputs(outputs, [1, 2]);
    assert.deepEqual(split.map((s) => [Array.from(s.y.data), s.y.dims, Array.from(s.z.data), s.z.dims]), [
      [[10], [1], [1n, 2n], [1, 2]], [[20, 30], [2], [3n, 4n, 5n, 6n], [2, 2]],
    ]);
    assert.throws(() => splitOutputs({ s: { type: 'float32', data: [1], dims: [1] } }, [1, 2]), /does not follow the batch of 3/);
    // a fixed batch of 1 or no batch dimension cannot be shared
    assert.equal(mapInput([1, 2, 3, 4], [{ name: 'x', type: 'float32', shape: [1, 4] }], opts()).batchKey, '');
  });

  it('turns int64 into numbers when exact and into text when not; tensors into nested arrays', () => {
    assert.equal(plainNumber(42n), 42);
    assert.equal(plainNumber(-(2n ** 53n) + 1n), -(2 ** 53) + 1);
    assert.equal(plainNumber(2n ** 60n), '1152921504606846976');
    assert.deepEqual(toNested({ type: 'int64', data: BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), dims: [1, 2, 3] }, true), [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(toNested({ type: 'float32', data: [1, 2], dims: [1, 2] }, false), [[1, 2]]);
    assert.equal(toNested({ type: 'float32', data: [7], dims: [] }, false), 7);
  });

  it('post-processes: raw, class, top k with labels and softmax, anomaly against a threshold', () => {
    const infos: TensorInfo[] = [{ name: 'label', type: 'int64', shape: ['n'] }, { name: 'p', type: 'float32', shape: ['n', 3] }];
    const out = { label: { type: 'int64', data: BigInt64Array.from([2n]), dims: [1] }, p: { type: 'float32', data: Float32Array.from([0.1, 0.3, 0.6]), dims: [1, 3] } };
    const base = { k: 2, transform: 'none' as const, labels: ['a', 'b', 'c'] };
    assert.deepEqual(postprocess(out, infos, { ...base, mode: 'raw' }, 1, false), { label: 2, p: [Math.fround(0.1), Math.fround(0.3), Math.fround(0.6)] });
    const cls = postprocess(out, infos, { ...base, mode: 'classify' }, 1, false) as { label: string; index: number; score: number };
    assert.deepEqual([cls.label, cls.index, cls.score], ['c', 2, Math.fround(0.6)]);
    const top = postprocess(out, infos, { ...base, mode: 'topk' }, 1, false) as Array<{ label: string }>;
    assert.deepEqual(top.map((r) => r.label), ['c', 'b']);
    const logits = { p: { type: 'float32', data: Float32Array.from([0, Math.log(3), 0, 0, 0, 0]), dims: [2, 3] } };
    const soft = postprocess(logits, [infos[1]], { ...base, mode: 'classify', transform: 'softmax' }, 2, true) as Array<{ index: number; score: number }>;
    assert.deepEqual(soft.map((r) => [r.index, Number(r.score.toFixed(6))]), [[1, 0.6], [0, Number((1 / 3).toFixed(6))]]);
    const scores = { s: { type: 'float32', data: Float32Array.from([0.5, 3]), dims: [2] } };
    const an = postprocess(scores, [{ name: 's', type: 'float32', shape: ['n'] }], { ...base, mode: 'anomaly', threshold: 1, labels: ['ok', 'odd'] }, 2, true);
    assert.deepEqual(an, [{ score: 0.5, anomaly: false, threshold: 1, label: 'ok' }, { score: 3, anomaly: true, threshold: 1, label: 'odd' }]);
    assert.deepEqual(checkPostOptions([infos[1]], { ...base, mode: 'anomaly' }), ['anomaly mode needs a threshold: set one in the node or in the model manifest']);
    assert.deepEqual(checkPostOptions(infos, { ...base, mode: 'classify', output: 'q' }), ['the model has no output "q" (it has label, p)']);
    assert.throws(() => postprocess(out, infos, { ...base, mode: 'anomaly', threshold: 1 }, 1, false), /anomaly mode needs one score per sample; output "p" has 3/);
  });
});
