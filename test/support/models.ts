/**
 * Real ONNX models for the tests, trained by the repository's model tools into a temporary directory once per
 * test run (a smaller training set than the demo's: the tests check mapping and numbers, not accuracy).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelManifest } from '../../nodes/core/models/model-manifest';
import { buildZoo, BuiltModel, Zoo } from '../../scripts/lib/model-zoo';
import { ELEM, GraphBuilder } from '../../scripts/lib/onnx-graph';
import { sha256Hex } from '../../nodes/core/models/model-store';

let zoo: Zoo | undefined;
let dir: string | undefined;

export function testZoo(): Zoo {
  zoo ??= buildZoo({ trainWindows: 600 });
  return zoo;
}

export function model(name: 'pump-anomaly' | 'pump-classifier' | 'pump-linear'): BuiltModel {
  return testZoo().models.find((m) => m.name === name)!;
}

/** The models written as files: <dir>/<name>.onnx and <name>.manifest.json. */
export function modelFiles(): string {
  if (dir) return dir;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-models-'));
  for (const m of testZoo().models) {
    fs.writeFileSync(path.join(dir, `${m.name}.onnx`), m.onnx);
    fs.writeFileSync(path.join(dir, `${m.name}.manifest.json`), JSON.stringify(m.manifest));
  }
  return dir;
}

/** A fresh temporary directory (for a model store). */
export function tempDir(prefix = 'edge-store-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The same model under another version number (the same bytes, another manifest). */
export function asVersion(m: BuiltModel, version: string): { manifest: ModelManifest; onnx: Uint8Array } {
  return { manifest: { ...m.manifest, version }, onnx: m.onnx };
}

let demo: Zoo | undefined;
/** The models exactly as the demo trains and installs them. */
export function demoZoo(): Zoo {
  demo ??= buildZoo();
  return demo;
}

/**
 * A model with pump-anomaly's signature that serves a neutral (zero) input but fails at run time on real values:
 * it looks a table up by the largest feature, which is out of bounds for anything above 1.
 */
export function failingModel(version: string): { manifest: ModelManifest; onnx: Uint8Array } {
  return scoreModel('fails-in-service', version, (g, x) => {
    const top = g.op1('ReduceMax', [x], { axes: { ints: [1] }, keepdims: { int: 0 } });
    const index = g.op1('Cast', [top], { to: { int: ELEM.INT64 } });
    g.op1('Gather', [g.constant('table', [0.1, 0.2], [2]), index], {}, 'score');
  });
}

/** A pump-anomaly stand-in: 8 features in, a `score` per row out, as `body` computes it from the input. */
function scoreModel(name: string, version: string, body: (g: GraphBuilder, x: string) => void): { manifest: ModelManifest; onnx: Uint8Array } {
  const g = new GraphBuilder(name);
  body(g, g.input('features', ELEM.FLOAT, ['batch', 8]));
  g.output('score', ELEM.FLOAT, ['batch']);
  const onnx = g.encode();
  const base = model('pump-anomaly').manifest;
  return {
    manifest: { name: base.name, version, sha256: sha256Hex(onnx), created: new Date().toISOString(), inputs: base.inputs, outputs: base.outputs, threshold: base.threshold },
    onnx,
  };
}

/**
 * A model that passes warm-up (zeros in, 0 out) and answers NaN for every real input: sqrt(-Σx²).
 */
export function nanModel(version: string): { manifest: ModelManifest; onnx: Uint8Array } {
  return scoreModel('nan-in-service', version, (g, x) => {
    const squares = g.op1('ReduceSumSquare', [x], { axes: { ints: [1] }, keepdims: { int: 0 } });
    g.op1('Sqrt', [g.op1('Neg', [squares])], {}, 'score');
  });
}
