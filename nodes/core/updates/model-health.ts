/**
 * The health check a new model version passes before it is activated: onnxruntime loads it, its inputs and outputs
 * are the ones the manifest declares, and the manifest's validation samples give the expected outputs within the
 * tolerance. The samples go through the same input mapping and preprocessing as edge-infer's messages.
 */
import { TensorInfo } from '../models/model-manifest';
import { fromOrt, toOrt } from '../inference/ort-tensors';
import { mapInput } from '../inference/tensor-map';
import { LoadedSession, loadSession, SessionKeeper } from '../inference/session-pool';
import { UpdateManifest } from './update-manifest';

export class HealthError extends Error {}

function sameDims(declared: Array<number | string>, actual: Array<number | string>): boolean {
  if (declared.length !== actual.length) return false;
  // a named or negative dimension is dynamic on either side
  return declared.every((d, i) => typeof d !== 'number' || d < 0 || typeof actual[i] !== 'number' || (actual[i] as number) < 0 || d === actual[i]);
}

function compareSignature(what: string, declared: TensorInfo[] | undefined, actual: TensorInfo[]): void {
  if (!declared) return;
  for (const d of declared) {
    const a = actual.find((x) => x.name === d.name);
    if (!a) throw new HealthError(`the model has no ${what} "${d.name}" (it has ${actual.map((x) => x.name).join(', ')})`);
    if (a.type !== d.type) throw new HealthError(`${what} "${d.name}" is ${a.type}, the manifest says ${d.type}`);
    if (!sameDims(d.shape, a.shape)) throw new HealthError(`${what} "${d.name}" has shape [${a.shape.join(', ')}], the manifest says [${d.shape.join(', ')}]`);
  }
  if (what === 'input') {
    const extra = actual.filter((a) => !declared.some((d) => d.name === a.name));
    if (extra.length) throw new HealthError(`the model takes input "${extra[0].name}", which the manifest does not declare`);
  }
}

/** Resolves when the model (its bytes, already checked against the manifest's sha256) is fit to serve; throws a
 * HealthError saying why not. */
export async function healthCheck(bytes: Buffer, m: UpdateManifest, keeper?: SessionKeeper): Promise<{ samples: number }> {
  let loaded: LoadedSession;
  try {
    loaded = await loadSession(`${m.name} ${m.version}`, bytes, m.sha256, { threads: 1 });
  } catch (err) {
    throw new HealthError((err as Error).message);
  }
  const { session, inputs, outputs } = loaded;
  let kept = false;
  try {
    compareSignature('input', m.inputs, inputs);
    compareSignature('output', m.outputs, outputs);
    const samples = m.validation?.samples ?? [];
    const tolerance = m.validation?.tolerance ?? 1e-4;
    for (const [i, sample] of samples.entries()) {
      let mapped;
      try {
        mapped = mapInput(sample.input, inputs, { features: m.features, preprocessing: m.preprocessing, nan: 'reject', maxValues: 1_000_000 });
      } catch (err) {
        throw new HealthError(`validation sample ${i + 1}: its input does not fit the model: ${(err as Error).message}`);
      }
      let got;
      try {
        got = fromOrt(await session.run(toOrt(mapped.feeds)));
      } catch (err) {
        throw new HealthError(`validation sample ${i + 1}: the run failed: ${(err as Error).message.split('\n')[0]}`);
      }
      for (const [name, expected] of Object.entries(sample.expected ?? {})) {
        const t = got[name];
        if (!t) throw new HealthError(`validation sample ${i + 1}: no output "${name}"`);
        const values = Array.from(t.data as ArrayLike<number | bigint>, Number);
        if (values.length !== expected.length) {
          throw new HealthError(`validation sample ${i + 1}: output "${name}" has ${values.length} values, ${expected.length} expected`);
        }
        const worst = values.reduce((w, v, k) => Math.max(w, Number.isFinite(v) ? Math.abs(v - expected[k]) : Infinity), 0);
        if (!(worst <= tolerance)) {
          throw new HealthError(`validation sample ${i + 1}: output "${name}" is off by ${worst.toPrecision(3)} (tolerance ${tolerance})`);
        }
      }
    }
    // the session that passed is the one that will serve: handed over, not loaded again
    if (keeper) {
      keeper.park(loaded);
      kept = true;
    }
    return { samples: samples.length };
  } finally {
    if (!kept) await session.release().catch(() => undefined);
  }
}
