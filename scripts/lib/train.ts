/**
 * Small, dependency-free training routines for the generated models: standardization, a Mahalanobis anomaly
 * score, and a softmax network (no hidden layer: multinomial logistic regression) trained with Adam on
 * mini-batches. Deterministic for a seed.
 */
import { gaussian, seededRandom } from '../../nodes/core/sensor/simulator';

export interface Standardizer {
  mean: number[];
  sd: number[];
  /** as edge-infer preprocessing: x * scale + offset */
  scale: number[];
  offset: number[];
}

export function fitStandardizer(x: number[][]): Standardizer {
  const k = x[0].length;
  const mean = new Array(k).fill(0);
  const sd = new Array(k).fill(0);
  for (const row of x) row.forEach((v, j) => (mean[j] += v / x.length));
  for (const row of x) row.forEach((v, j) => (sd[j] += ((v - mean[j]) ** 2) / x.length));
  for (let j = 0; j < k; j++) sd[j] = Math.sqrt(sd[j]) || 1;
  return { mean, sd, scale: sd.map((s) => 1 / s), offset: mean.map((m, j) => -m / sd[j]) };
}

export function standardize(x: number[][], s: Standardizer): number[][] {
  return x.map((row) => row.map((v, j) => v * s.scale[j] + s.offset[j]));
}

/** Cholesky factor L (lower) of a symmetric positive definite matrix. */
function cholesky(a: number[][]): number[][] {
  const n = a.length;
  const l = a.map(() => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i][j];
      for (let k = 0; k < j; k++) sum -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / l[j][j];
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix. */
function invertLower(l: number[][]): number[][] {
  const n = l.length;
  const inv = l.map(() => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    inv[i][i] = 1 / l[i][i];
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum -= l[i][k] * inv[k][j];
      inv[i][j] = sum / l[i][i];
    }
  }
  return inv;
}

/**
 * A whitening matrix W (k × k) for standardized rows z: the Mahalanobis distance is |z · W|.
 * A small ridge keeps nearly collinear features from blowing up the distance.
 */
export function fitWhitening(z: number[][], ridge = 1e-3): number[][] {
  const k = z[0].length;
  const cov = Array.from({ length: k }, () => new Array(k).fill(0));
  for (const row of z) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) cov[i][j] += (row[i] * row[j]) / z.length;
  for (let i = 0; i < k; i++) cov[i][i] += ridge;
  const linv = invertLower(cholesky(cov));
  // W = (L⁻¹)ᵀ so that z·W = (L⁻¹ zᵀ)ᵀ
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => linv[j][i]));
}

export function mahalanobis(z: number[], w: number[][]): number {
  let sum = 0;
  for (let j = 0; j < w.length; j++) {
    let v = 0;
    for (let i = 0; i < z.length; i++) v += z[i] * w[i][j];
    sum += v * v;
  }
  return Math.sqrt(sum);
}

export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

/** A dense layer: out = in · W + b, W stored row-major (inputs × outputs). */
export interface Dense {
  w: Float64Array;
  b: Float64Array;
  inputs: number;
  outputs: number;
}

export interface Network {
  /** hidden layers use ReLU; the last one is followed by softmax */
  layers: Dense[];
}

function forward(net: Network, x: number[]): { activations: number[][]; probs: number[] } {
  const activations: number[][] = [x];
  let a = x;
  net.layers.forEach((layer, li) => {
    const out = new Array(layer.outputs).fill(0);
    for (let o = 0; o < layer.outputs; o++) {
      let s = layer.b[o];
      for (let i = 0; i < layer.inputs; i++) s += a[i] * layer.w[i * layer.outputs + o];
      out[o] = li < net.layers.length - 1 ? Math.max(0, s) : s;
    }
    activations.push(out);
    a = out;
  });
  return { activations, probs: softmax(a) };
}

export function softmax(v: number[]): number[] {
  const max = Math.max(...v);
  const e = v.map((x) => Math.exp(x - max));
  const sum = e.reduce((p, c) => p + c, 0);
  return e.map((x) => x / sum);
}

export function predict(net: Network, x: number[]): number[] {
  return forward(net, x).probs;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export interface TrainOptions {
  hidden: number[];
  epochs: number;
  batch: number;
  learningRate: number;
  seed: number;
}

/** Trains a softmax network with cross-entropy and Adam. */
export function trainClassifier(x: number[][], y: number[], classes: number, o: TrainOptions): Network {
  const random = seededRandom(o.seed);
  const normal = gaussian(random);
  const sizes = [x[0].length, ...o.hidden, classes];
  const net: Network = {
    layers: sizes.slice(1).map((outputs, i) => {
      const inputs = sizes[i];
      const w = new Float64Array(inputs * outputs).map(() => normal() * Math.sqrt(2 / inputs)); // He initialization
      return { w, b: new Float64Array(outputs), inputs, outputs };
    }),
  };
  const params = net.layers.flatMap((l) => [l.w, l.b]);
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  let step = 0;
  const order = x.map((_, i) => i);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let start = 0; start < order.length; start += o.batch) {
      const idx = order.slice(start, start + o.batch);
      const grads = params.map((p) => new Float64Array(p.length));
      for (const n of idx) {
        const { activations, probs } = forward(net, x[n]);
        // dLoss/dlogits for softmax + cross-entropy
        let delta = probs.map((p, c) => (p - (c === y[n] ? 1 : 0)) / idx.length);
        for (let li = net.layers.length - 1; li >= 0; li--) {
          const layer = net.layers[li];
          const input = activations[li];
          const gw = grads[li * 2];
          const gb = grads[li * 2 + 1];
          for (let o2 = 0; o2 < layer.outputs; o2++) {
            gb[o2] += delta[o2];
            for (let i = 0; i < layer.inputs; i++) gw[i * layer.outputs + o2] += input[i] * delta[o2];
          }
          if (li > 0) {
            const back = new Array(layer.inputs).fill(0);
            for (let i = 0; i < layer.inputs; i++) {
              if (input[i] <= 0) continue; // ReLU
              let s = 0;
              for (let o2 = 0; o2 < layer.outputs; o2++) s += layer.w[i * layer.outputs + o2] * delta[o2];
              back[i] = s;
            }
            delta = back;
          }
        }
      }
      step++;
      const b1 = 0.9;
      const b2 = 0.999;
      params.forEach((p, pi) => {
        for (let k = 0; k < p.length; k++) {
          m[pi][k] = b1 * m[pi][k] + (1 - b1) * grads[pi][k];
          v[pi][k] = b2 * v[pi][k] + (1 - b2) * grads[pi][k] ** 2;
          const mh = m[pi][k] / (1 - b1 ** step);
          const vh = v[pi][k] / (1 - b2 ** step);
          p[k] -= (o.learningRate * mh) / (Math.sqrt(vh) + 1e-8);
        }
      });
    }
  }
  return net;
}

export function accuracy(net: Network, x: number[][], y: number[]): number {
  let right = 0;
  x.forEach((row, i) => (right += argmax(predict(net, row)) === y[i] ? 1 : 0));
  return right / x.length;
}
