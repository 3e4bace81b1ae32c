/**
 * The models the demo, the tests and the benchmarks use, trained here on the simulated pump:
 *   pump-anomaly     standardize (manifest) + Mahalanobis distance (graph), threshold in the manifest
 *   pump-classifier  an MLP 8-32-16-4 with softmax: normal / bearing / cavitation / stuck-sensor
 *   pump-linear      the same task with ai.onnx.ml LinearClassifier (int64 label + probabilities)
 */
import { ModelManifest } from '../../nodes/core/models/model-manifest';
import { sha256Hex } from '../../nodes/core/models/model-store';
import { ELEM, GraphBuilder, int64Tensor } from './onnx-graph';
import { trainingStats } from '../../nodes/core/monitoring/training-stats';
import { PUMP_CLASSES, PUMP_FEATURES, pumpOperation, pumpWindows } from './pump-data';
import { accuracy, fitStandardizer, fitWhitening, mahalanobis, Network, predict, quantile, standardize, trainClassifier } from './train';

export interface BuiltModel {
  name: string;
  onnx: Uint8Array;
  manifest: ModelManifest;
  /** the trained parameters, for a plain JavaScript reference of the same math */
  reference: { whitening?: number[][]; network?: Network };
}

export interface HeldOut {
  features: string[];
  classes: string[];
  x: number[][];
  y: number[];
}

export interface Zoo {
  models: BuiltModel[];
  heldOut: HeldOut;
}

const F = PUMP_FEATURES.length;

function manifestFor(name: string, onnx: Uint8Array, rest: Partial<ModelManifest>, version: string): ModelManifest {
  return { name, version, sha256: sha256Hex(onnx), created: new Date().toISOString(), features: PUMP_FEATURES, ...rest };
}

const FEATURES_INPUT = { name: 'features', type: 'float32', shape: ['batch', F] };

/** Encodes a trained graph with its manifest (one input: the pump feature vector). */
function built(g: GraphBuilder, name: string, version: string, reference: BuiltModel['reference'], rest: Partial<ModelManifest>): BuiltModel {
  const onnx = g.encode();
  return { name, onnx, reference, manifest: manifestFor(name, onnx, { inputs: [FEATURES_INPUT], ...rest }, version) };
}

function featuresInput(g: GraphBuilder): string {
  return g.input('features', ELEM.FLOAT, ['batch', F]);
}

/** Dense layers as MatMul + Add (+ Relu between), so the quantizer can find the MatMuls. */
function denseGraph(g: GraphBuilder, net: Network, input: string): string {
  let a = input;
  net.layers.forEach((layer, i) => {
    const w = g.constant(`dense${i}.weight`, layer.w, [layer.inputs, layer.outputs]);
    const b = g.constant(`dense${i}.bias`, layer.b, [layer.outputs]);
    a = g.op1('Add', [g.op1('MatMul', [a, w]), b]);
    if (i < net.layers.length - 1) a = g.op1('Relu', [a]);
  });
  return a;
}

export interface ZooOptions {
  version?: string;
  /** scale of the training run (tests use a smaller one) */
  trainWindows?: number;
}

export function buildZoo(o: ZooOptions = {}): Zoo {
  const version = o.version ?? '1';
  const n = o.trainWindows ?? 2400;
  const train = pumpWindows(1, n, 0.5);
  const test = pumpWindows(2, Math.round(n / 2), 0.5);
  const s = fitStandardizer(train.x.filter((_, i) => train.y[i] === 0));
  const preprocessing = { scale: s.scale, offset: s.offset };
  // the reference for drift: 8 h of the pump as it runs, its recurring faults included (the training sets hold
  // half faults, which the live stream never does, so their bins would report drift all day)
  const training = trainingStats(pumpOperation(3, 8), PUMP_FEATURES);
  const zTrain = standardize(train.x, s);
  const zTest = standardize(test.x, s);
  const models: BuiltModel[] = [];

  // (a) anomaly: distance from the normal cloud, threshold just above what normal operation reaches
  const normalZ = zTrain.filter((_, i) => train.y[i] === 0);
  const w = fitWhitening(normalZ);
  const threshold = Number((quantile(normalZ.map((z) => mahalanobis(z, w)), 0.999) * 1.1).toFixed(4));
  {
    const g = new GraphBuilder('pump-anomaly');
    const x = featuresInput(g);
    const wn = g.constant('whitening', w.flat(), [F, F]);
    const y = g.op1('MatMul', [x, wn]);
    const sq = g.op1('Mul', [y, y]);
    const axes = g.initializer(int64Tensor('axes', [1], [1]));
    const sum = g.op1('ReduceSum', [sq, axes], { keepdims: { int: 0 } });
    g.op1('Sqrt', [sum], {}, 'score');
    g.output('score', ELEM.FLOAT, ['batch']);
    const scores = zTest.map((z) => mahalanobis(z, w));
    const normal = scores.filter((_, i) => test.y[i] === 0);
    const faulty = scores.filter((_, i) => test.y[i] !== 0);
    models.push(built(g, 'pump-anomaly', version, { whitening: w }, {
      description: 'Mahalanobis distance of the pump feature vector from normal operation',
      preprocessing, training, threshold, labels: ['normal', 'anomaly'],
      outputs: [{ name: 'score', type: 'float32', shape: ['batch'] }],
      metrics: {
        falseAlarmRate: normal.filter((v) => v > threshold).length / normal.length,
        detectionRate: faulty.filter((v) => v > threshold).length / faulty.length,
      },
    }));
  }

  // (b) MLP classifier
  const mlp = trainClassifier(zTrain, train.y, PUMP_CLASSES.length, { hidden: [32, 16], epochs: 40, batch: 32, learningRate: 0.01, seed: 3 });
  {
    const g = new GraphBuilder('pump-classifier');
    const logits = denseGraph(g, mlp, featuresInput(g));
    g.op1('Softmax', [logits], { axis: { int: 1 } }, 'probabilities');
    g.output('probabilities', ELEM.FLOAT, ['batch', PUMP_CLASSES.length]);
    models.push(built(g, 'pump-classifier', version, { network: mlp }, {
      description: 'pump condition from the feature vector (MLP 8-32-16-4)',
      preprocessing, training, labels: PUMP_CLASSES,
      outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', PUMP_CLASSES.length] }],
      metrics: { accuracy: accuracy(mlp, zTest, test.y), trainAccuracy: accuracy(mlp, zTrain, train.y) },
    }));
  }

  // (c) the same task with ai.onnx.ml LinearClassifier (multinomial logistic regression)
  const linear = trainClassifier(zTrain, train.y, PUMP_CLASSES.length, { hidden: [], epochs: 60, batch: 32, learningRate: 0.05, seed: 4 });
  {
    const layer = linear.layers[0];
    const C = PUMP_CLASSES.length;
    const coefficients: number[] = [];
    for (let c = 0; c < C; c++) for (let f = 0; f < F; f++) coefficients.push(layer.w[f * C + c]);
    const g = new GraphBuilder('pump-linear');
    const x = featuresInput(g);
    g.op('LinearClassifier', [x], {
      coefficients, intercepts: Array.from(layer.b), classlabels_ints: { ints: PUMP_CLASSES.map((_, i) => i) },
      post_transform: 'SOFTMAX',
    }, ['label', 'probabilities']);
    g.output('label', ELEM.INT64, ['batch']);
    g.output('probabilities', ELEM.FLOAT, ['batch', C]);
    models.push(built(g, 'pump-linear', version, { network: linear }, {
      description: 'pump condition by multinomial logistic regression (ai.onnx.ml LinearClassifier)',
      preprocessing, training, labels: PUMP_CLASSES,
      outputs: [{ name: 'label', type: 'int64', shape: ['batch'] }, { name: 'probabilities', type: 'float32', shape: ['batch', C] }],
      metrics: { accuracy: accuracy(linear, zTest, test.y) },
    }));
  }
  return { models, heldOut: { features: PUMP_FEATURES, classes: PUMP_CLASSES, x: test.x, y: test.y } };
}

/** The same math in plain JavaScript: what the model should answer for a raw (not yet standardized) row. */
export function referenceOutput(m: BuiltModel, row: number[]): number[] {
  const p = m.manifest.preprocessing!;
  const z = row.map((v, j) => v * p.scale[j] + p.offset[j]);
  if (m.reference.whitening) return [mahalanobis(z, m.reference.whitening)];
  return predict(m.reference.network!, z);
}
