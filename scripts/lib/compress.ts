/**
 * Model compression with its price shown: dynamic int8 weight quantization (MatMul becomes
 * DynamicQuantizeLinear + MatMulInteger with int8 weights, as onnxruntime's own dynamic quantizer does) and
 * magnitude pruning (the smallest weights set to zero, which a compressed download then carries cheaply).
 * The report compares size, latency and agreement with the original on held-out data, in the same run.
 */
import zlib from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { ModelManifest } from '../../nodes/core/models/model-manifest';
import { decodeModel, dimsOf, ELEM, encodeModel, floatData, floatTensor, int8Tensor } from './onnx-graph';
import { argmax } from './train';

/** Initializers that are MatMul weights (float, 2-D, second input). */
function matmulWeights(graph: onnx.IGraphProto): Map<string, onnx.ITensorProto> {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const found = new Map<string, onnx.ITensorProto>();
  for (const node of graph.node ?? []) {
    if (node.opType !== 'MatMul' || (node.domain ?? '') !== '') continue;
    const w = inits.get(node.input![1]);
    if (w && w.dataType === ELEM.FLOAT && dimsOf(w).length === 2) found.set(w.name!, w);
  }
  return found;
}

/** Sets the smallest `sparsity` share of each MatMul weight matrix to zero. Returns the new model and zeros. */
export function prune(bytes: Uint8Array, sparsity: number): { model: Uint8Array; zeroed: number; weights: number } {
  if (!(sparsity > 0 && sparsity < 1)) throw new Error('sparsity must be between 0 and 1 (exclusive)');
  const model = decodeModel(bytes);
  let zeroed = 0;
  let weights = 0;
  for (const w of matmulWeights(model.graph!).values()) {
    const data = floatData(w);
    const cut = [...data].map(Math.abs).sort((a, b) => a - b)[Math.floor(data.length * sparsity)];
    for (let i = 0; i < data.length; i++) {
      if (Math.abs(data[i]) < cut) {
        data[i] = 0;
        zeroed++;
      }
    }
    weights += data.length;
    Object.assign(w, floatTensor(w.name!, data, dimsOf(w)), { floatData: [] });
  }
  return { model: encodeModel(model), zeroed, weights };
}

/** Rewrites every MatMul with a constant weight into dynamic int8 quantization. */
export function quantizeDynamic(bytes: Uint8Array): { model: Uint8Array; quantized: number } {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const weights = matmulWeights(graph);
  const nodes: onnx.INodeProto[] = [];
  const newInits: onnx.ITensorProto[] = [];
  let quantized = 0;
  for (const node of graph.node ?? []) {
    const w = node.opType === 'MatMul' ? weights.get(node.input![1]) : undefined;
    if (!w) {
      nodes.push(node);
      continue;
    }
    quantized++;
    const data = floatData(w);
    const maxAbs = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    const scale = maxAbs / 127;
    const q = Int8Array.from(data, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
    const base = w.name!;
    newInits.push(
      int8Tensor(`${base}.q`, q, dimsOf(w)),
      int8Tensor(`${base}.zero`, new Int8Array(1), []),
      floatTensor(`${base}.scale`, [scale], []),
    );
    const a = node.input![0];
    const out = node.output![0];
    const p = `${node.name || base}.`;
    const n = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto =>
      ({ opType, input, output, name: `${p}${output[0]}`, attribute, domain: '' });
    nodes.push(
      n('DynamicQuantizeLinear', [a], [`${p}a.q`, `${p}a.scale`, `${p}a.zero`]),
      n('MatMulInteger', [`${p}a.q`, `${base}.q`, `${p}a.zero`, `${base}.zero`], [`${p}int32`]),
      n('Cast', [`${p}int32`], [`${p}float`], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: ELEM.FLOAT }]),
      n('Mul', [`${p}a.scale`, `${base}.scale`], [`${p}scale`]),
      n('Mul', [`${p}float`, `${p}scale`], [out]),
    );
  }
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !weights.has(t.name!)), ...newInits];
  return { model: encodeModel(model), quantized };
}

export interface Variant {
  label: string;
  onnx: Uint8Array;
}

export interface VariantReport {
  label: string;
  bytes: number;
  gzipBytes: number;
  p50Ms: number;
  /** classifiers: held-out accuracy; anomaly: detection and false-alarm rates */
  accuracy?: number;
  detectionRate?: number;
  falseAlarmRate?: number;
  /** share of held-out samples whose decision equals the original model's */
  agreement: number;
  maxScoreDiff: number;
}

function prepared(x: number[][], m: ModelManifest): Float32Array[] {
  const p = m.preprocessing;
  return x.map((row) => Float32Array.from(row, (v, j) => (p ? v * p.scale[j] + p.offset[j] : v)));
}

/**
 * Runs each variant on the held-out samples (batch 1) and times them interleaved, so all share the machine's
 * state; the first variant is the reference for agreement.
 */
export async function compare(variants: Variant[], m: ModelManifest, x: number[][], y: number[], rounds = 3): Promise<VariantReport[]> {
  const inputs = prepared(x, m);
  const sessions = await Promise.all(variants.map((v) => ort.InferenceSession.create(v.onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 })));
  const scoreOutput = (s: ort.InferenceSession) => s.outputNames.find((n) => n !== 'label') ?? s.outputNames[0];
  const times: number[][] = variants.map(() => []);
  const scores: number[][][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < inputs.length; i++) {
      for (let v = 0; v < sessions.length; v++) {
        const s = sessions[v];
        const feed = { [s.inputNames[0]]: new ort.Tensor('float32', inputs[i], [1, inputs[i].length]) };
        const t0 = performance.now();
        const out = await s.run(feed);
        times[v].push(performance.now() - t0);
        if (r === 0) scores[v].push(Array.from(out[scoreOutput(s)].data as Float32Array));
      }
    }
  }
  for (const s of sessions) await s.release();
  const decide = (row: number[]) => (m.threshold !== undefined && row.length === 1 ? (row[0] > m.threshold ? 1 : 0) : argmax(row));
  const reference = scores[0].map(decide);
  return variants.map((v, vi) => {
    const decisions = scores[vi].map(decide);
    const sorted = times[vi].sort((a, b) => a - b);
    const report: VariantReport = {
      label: v.label,
      bytes: v.onnx.length,
      gzipBytes: zlib.gzipSync(v.onnx, { level: 9 }).length,
      p50Ms: Number(sorted[Math.floor(sorted.length / 2)].toFixed(4)),
      agreement: decisions.filter((d, i) => d === reference[i]).length / decisions.length,
      maxScoreDiff: Number(Math.max(...scores[vi].map((row, i) => Math.max(...row.map((s, j) => Math.abs(s - scores[0][i][j]))))).toPrecision(3)),
    };
    if (m.threshold !== undefined) {
      const normal = decisions.filter((_, i) => y[i] === 0);
      const faulty = decisions.filter((_, i) => y[i] !== 0);
      report.detectionRate = faulty.filter((d) => d === 1).length / faulty.length;
      report.falseAlarmRate = normal.filter((d) => d === 1).length / normal.length;
    } else {
      report.accuracy = decisions.filter((d, i) => d === y[i]).length / decisions.length;
    }
    return report;
  });
}
