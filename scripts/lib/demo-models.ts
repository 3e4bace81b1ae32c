/**
 * The demo's anomaly model as signed versions in a registry, for the demo's launcher and the fleet: version 1 as
 * trained, and any later version the same network with its threshold recalibrated (q0.999 of normal scores × 1.2
 * instead of × 1.1), each with a validation sample the gateway checks before it installs the version.
 */
import { Zoo, referenceOutput } from './model-zoo';
import { decodeModel, encodeModel } from './onnx-graph';
import { packageModel, PackageOptions } from './registry';
import type { SignedManifest, UpdateManifest } from '../../nodes/core/updates/update-manifest';

/** `staging`: a rollout share (the part of the fleet that takes it) and a shadow gate, signed into a later version. */
export function packageAnomaly(zoo: Zoo, registry: string, key: PackageOptions['key'], version: string,
  staging: Pick<UpdateManifest, 'rollout' | 'shadow'> = {}): SignedManifest {
  const m = zoo.models.find((z) => z.name === 'pump-anomaly')!;
  const row = zoo.heldOut.x[0];
  const samples = [{ input: row, expected: { score: referenceOutput(m, row) } }];
  if (version === m.manifest.version) return packageModel({ registry, manifest: m.manifest, onnx: m.onnx, key, samples, tolerance: 1e-3 });
  // a different file (its producer version), so its sha256 is its own
  const proto = decodeModel(m.onnx);
  proto.producerVersion = version;
  return packageModel({
    registry, onnx: encodeModel(proto), key, samples, tolerance: 1e-3,
    manifest: { ...m.manifest, version, threshold: (m.manifest.threshold! / 1.1) * 1.2, description: 'threshold recalibrated: q0.999 of normal scores × 1.2', ...staging },
  });
}
