/**
 * The signed manifest of a model update, and every check made on it before a byte of the model is installed.
 *
 * The publisher signs the canonical JSON of the manifest (keys sorted, no spaces) with ed25519, prefixed by a
 * context string so a signature made for anything else never verifies here. The gateway trusts a set of public
 * keys by id. What is refused, each with its own code: a missing or bad signature (when signing is required), an
 * unknown key, an expired manifest (a frozen or replayed registry), a version not above the highest installed
 * (a rollback), unless the operator pinned exactly that version, a name that could escape the store, an artifact
 * above the size cap or its own declared size, a package too old for the model, and an artifact whose size or
 * sha256 differs from the manifest.
 */
import crypto, { KeyObject } from 'node:crypto';
import { compareVersions, isSafeName, ModelManifest, validateManifest } from '../models/model-manifest';
import { errorText, quote } from '../shared/errors';
import type { Problem } from '../shared/fields';
import { Rollout, rolloutProblem } from './rollout';
import { ShadowGate, shadowGateProblems } from '../monitoring/shadow-gate';

export interface ValidationSample {
  /** the model's input as edge-infer takes it: a row, rows, or one array per named input */
  input: unknown;
  /** expected values per output name (flattened) */
  expected: Record<string, number[]>;
}

export interface UpdateManifest extends ModelManifest {
  /** where the model file is: a URL, or a path relative to the manifest's location */
  artifact: string;
  /** bytes of the model file */
  size: number;
  /** ISO time after which the manifest is refused */
  expires?: string;
  /** the oldest package version that can run the model */
  minPackageVersion?: string;
  validation?: { samples: ValidationSample[]; tolerance: number };
  /** the part of the fleet that takes this version (a stable hash of the gateway id decides) */
  rollout?: Rollout;
  /** run the version in shadow first, with this gate (fields not given: the node's, else the defaults) */
  shadow?: Partial<ShadowGate>;
}

export interface Signature {
  keyId: string;
  algorithm: 'ed25519';
  /** base64 */
  value: string;
}

export interface SignedManifest {
  manifest: UpdateManifest;
  signature?: Signature;
}

export type RefusalCode =
  | 'malformed' | 'unsigned' | 'bad-signature' | 'unknown-key' | 'expired' | 'downgrade' | 'unsafe-name'
  | 'unsafe-artifact' | 'too-large' | 'package-too-old' | 'size-mismatch' | 'sha256-mismatch' | 'wrong-model';

export class UpdateRefused extends Error {
  constructor(readonly code: RefusalCode, message: string) {
    super(message);
  }
}

const CONTEXT = 'edge-intelligence model manifest v1\n';

/** JSON with object keys sorted at every level: the bytes that are signed. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as object).sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function signedBytes(m: UpdateManifest): Buffer {
  return Buffer.from(CONTEXT + canonicalJson(m), 'utf8');
}

export function signManifest(manifest: UpdateManifest, privateKey: KeyObject, keyId: string): SignedManifest {
  const value = crypto.sign(null, signedBytes(manifest), privateKey).toString('base64');
  return { manifest, signature: { keyId, algorithm: 'ed25519', value } };
}

/** The 32 raw bytes of an ed25519 public key, base64 (what key files and credentials hold). */
export function publicKeyText(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x: string };
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

function publicKeyFrom(text: string): KeyObject {
  const der = Buffer.from(text, 'base64');
  if (der.length === 32) return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: der.toString('base64url') }, format: 'jwk' });
  // the body of a PEM "PUBLIC KEY" (SPKI) is accepted too
  const key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key');
  return key;
}

/**
 * Trusted keys from text: one per line, `<key id> <base64 key>` (the 32 raw bytes, or the SPKI body of a PEM).
 * Blank lines and lines starting with # are ignored. Returns the keys and the lines that could not be read.
 */
export function parseTrustedKeys(text: string): { keys: Map<string, KeyObject>; problems: Problem[] } {
  const keys = new Map<string, KeyObject>();
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [id, key, extra] = line.split(/\s+/);
    if (!key || extra !== undefined) return void problems.push({ key: 'keyLine', vars: { line: i + 1 } });
    try {
      keys.set(id, publicKeyFrom(key));
    } catch (err) {
      // the crypto library's own words for a key it cannot read
      problems.push({ key: 'keyUnreadable', vars: { line: i + 1, error: errorText(err) } });
    }
  });
  return { keys, problems };
}

export interface VerifyOptions {
  keys: Map<string, KeyObject>;
  requireSignature: boolean;
  /** the model this updater looks after */
  model: string;
  /** the highest version installed or ever seen; a manifest must be above it */
  highest: string | undefined;
  /** a version the operator pinned: accepted even when lower */
  pinned?: string;
  maxBytes: number;
  packageVersion: string;
  now: number;
}

/** Checks a signed manifest; returns the manifest or throws UpdateRefused with the reason. */
export function verifyManifest(envelope: unknown, o: VerifyOptions): UpdateManifest {
  const e = envelope as SignedManifest;
  if (!e || typeof e !== 'object' || !e.manifest || typeof e.manifest !== 'object') {
    throw new UpdateRefused('malformed', 'not a signed manifest: expected {manifest, signature}');
  }
  const m = e.manifest;
  // names first: nothing below may build a path from an unsafe one
  if (!isSafeName(m.name) || !isSafeName(m.version)) {
    throw new UpdateRefused('unsafe-name', `the model name or version is not a safe name (${quote(m.name)} ${quote(m.version)})`);
  }
  const sig = e.signature;
  if (!sig) {
    if (o.requireSignature) throw new UpdateRefused('unsigned', `${m.name} ${m.version}: the manifest is not signed`);
  } else {
    const key = o.keys.get(String(sig.keyId));
    if (!key) throw new UpdateRefused('unknown-key', `${m.name} ${m.version}: signed with key "${String(sig.keyId)}", which is not trusted`);
    let ok = false;
    try {
      ok = sig.algorithm === 'ed25519' && crypto.verify(null, signedBytes(m), key, Buffer.from(String(sig.value), 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) throw new UpdateRefused('bad-signature', `${m.name} ${m.version}: the signature does not match the manifest (key "${sig.keyId}")`);
  }
  const problems = validateManifest(m);
  if (typeof m.artifact !== 'string' || !m.artifact) problems.push('"artifact" must name the model file');
  if (!(Number.isInteger(m.size) && m.size > 0)) problems.push('"size" must be the model file\'s size in bytes');
  if (m.expires !== undefined && Number.isNaN(Date.parse(m.expires))) problems.push('"expires" must be an ISO date');
  const rollout = rolloutProblem(m.rollout);
  if (rollout) problems.push(rollout);
  if (m.shadow !== undefined) {
    const bad = typeof m.shadow === 'object' && m.shadow !== null ? shadowGateProblems(m.shadow) : ['(not an object)'];
    if (bad.length) problems.push(`"shadow" has unusable values: ${bad.join(', ')}`);
  }
  if (problems.length) throw new UpdateRefused('malformed', `${m.name} ${m.version}: ${problems.join('; ')}`);
  if (m.name !== o.model) throw new UpdateRefused('wrong-model', `the manifest is for "${m.name}", this updater looks after "${o.model}"`);
  if (m.expires !== undefined && Date.parse(m.expires) <= o.now) {
    throw new UpdateRefused('expired', `${m.name} ${m.version}: the manifest expired at ${m.expires}`);
  }
  if (o.highest !== undefined && compareVersions(m.version, o.highest) <= 0 && m.version !== o.pinned) {
    throw new UpdateRefused('downgrade', `${m.name} ${m.version} is not newer than ${o.highest}: refused as a rollback (pin it to allow it)`);
  }
  if (m.size > o.maxBytes) throw new UpdateRefused('too-large', `${m.name} ${m.version}: ${m.size} bytes, above the limit of ${o.maxBytes}`);
  if (m.minPackageVersion && compareVersions(o.packageVersion, m.minPackageVersion) < 0) {
    throw new UpdateRefused('package-too-old', `${m.name} ${m.version} needs package version ${m.minPackageVersion}; this is ${o.packageVersion}`);
  }
  return m;
}

/** The downloaded file against the manifest. */
export function verifyArtifact(m: UpdateManifest, size: number, sha256: string): void {
  if (size !== m.size) throw new UpdateRefused('size-mismatch', `${m.name} ${m.version}: the model file has ${size} bytes, the manifest says ${m.size}`);
  if (sha256 !== m.sha256) {
    throw new UpdateRefused('sha256-mismatch', `${m.name} ${m.version}: the model file's sha256 is ${sha256.slice(0, 12)}…, the manifest says ${m.sha256.slice(0, 12)}…`);
  }
}

/**
 * Where the artifact is: an http(s) URL (absolute, or relative to the manifest's URL), or for a directory
 * source a file inside that directory (no way out of it).
 */
export function resolveArtifact(m: UpdateManifest, base: { url?: string; dir?: string }): { url: string } | { file: string } {
  const a = m.artifact;
  if (/^https?:\/\//i.test(a)) return { url: a };
  if (base.url) {
    const url = new URL(a, base.url);
    if (!/^https?:$/.test(url.protocol)) throw new UpdateRefused('unsafe-artifact', `artifact "${a}" is not an http(s) URL`);
    return { url: url.toString() };
  }
  if (base.dir) {
    const parts = a.split('/');
    if (a.startsWith('/') || a.includes('\\') || parts.some((p) => p === '..' || p === '' || p === '.')) {
      throw new UpdateRefused('unsafe-artifact', `artifact "${a}" would leave the update directory`);
    }
    return { file: [base.dir, ...parts].join('/') };
  }
  throw new UpdateRefused('unsafe-artifact', `artifact "${a}" is relative, and there is no base to resolve it against`);
}
