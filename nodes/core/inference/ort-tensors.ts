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
