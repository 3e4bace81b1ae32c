/** Between the mapper's feeds and onnxruntime's tensors, both ways, and the finiteness check every run makes. */
import * as ort from 'onnxruntime-node';
import type { Feed, OutputTensor } from './tensor-map';

export function toOrt(feeds: Record<string, Feed>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) out[name] = new ort.Tensor(f.type as 'float32', f.data as Float32Array, f.dims);
  return out;
}

export function fromOrt(results: ort.InferenceSession.OnnxValueMapType): Record<string, OutputTensor> {
  const out: Record<string, OutputTensor> = {};
  for (const [name, v] of Object.entries(results)) {
    const t = v as ort.Tensor;
    out[name] = { type: t.type, data: t.data as ArrayLike<number>, dims: t.dims };
  }
  return out;
}

/** No NaN or infinity in a float tensor (scanned in place: this runs for every inference). */
export function allFinite(t: OutputTensor): boolean {
  if (!t.type.startsWith('float')) return true;
  const data = t.data as ArrayLike<number>;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

/**
 * A session run and the time it took in the model. onnxruntime-node runs a session synchronously inside a
 * setImmediate of its own, so the time from the call would include whatever the event loop does before it gets
 * there (a flow's messages are delivered on setImmediate too). An immediate queued just before the run's own fires
 * just before it: the clock starts there. Should a run ever complete before it (an asynchronous binding), the
 * time from the call is kept.
 */
export async function timedRun(session: ort.InferenceSession, feeds: Record<string, Feed>): Promise<{ outputs: Record<string, OutputTensor>; ms: number }> {
  const called = performance.now();
  let started = 0;
  setImmediate(() => {
    started = performance.now();
  });
  const results = await session.run(toOrt(feeds));
  const ended = performance.now();
  return { outputs: fromOrt(results), ms: ended - (started > 0 && started <= ended ? started : called) };
}
