/**
 * The publishing side of model updates, for the cloud layer: signing keys, packaging a model version as static
 * files any web server or object store can serve, and a small HTTP server for them (the demo's registry, and the
 * tests', which can also make it slow or drop connections).
 *
 *     <registry>/<model>/manifest.json          the signed manifest of the newest version
 *     <registry>/<model>/<version>/model.onnx   its artifact ("<version>/model.onnx", relative to the manifest)
 *     <registry>/<model>/<version>/manifest.json   the signed manifest of that version, kept
 */
import crypto, { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ModelManifest } from '../../nodes/core/models/model-manifest';
import { sha256Hex } from '../../nodes/core/models/model-store';
import { publicKeyText, signManifest, SignedManifest, UpdateManifest, ValidationSample } from '../../nodes/core/updates/update-manifest';

export interface KeyPair {
  keyId: string;
  privateKey: KeyObject;
  /** the line a gateway's trusted keys take: "<key id> <base64 public key>" */
  trustLine: string;
}

export function makeKeyPair(keyId: string): KeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return { keyId, privateKey, trustLine: `${keyId} ${publicKeyText(publicKey)}` };
}

/** Writes `<dir>/<keyId>.key` (PKCS#8 PEM, keep it secret) and `<dir>/<keyId>.pub` (the trust line). */
export function saveKeyPair(dir: string, pair: KeyPair): { privateFile: string; publicFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const privateFile = path.join(dir, `${pair.keyId}.key`);
  const publicFile = path.join(dir, `${pair.keyId}.pub`);
  fs.writeFileSync(privateFile, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  fs.writeFileSync(publicFile, `${pair.trustLine}\n`);
  return { privateFile, publicFile };
}

export function loadPrivateKey(file: string): KeyObject {
  return crypto.createPrivateKey(fs.readFileSync(file));
}

export interface PackageOptions {
  registry: string;
  /** the version's manifest without the fields packaging fills in (sha256, size, artifact, created) */
  manifest: Omit<ModelManifest, 'sha256' | 'created'> & Partial<Pick<ModelManifest, 'created'>> & Pick<UpdateManifest, 'rollout' | 'shadow'>;
  onnx: Uint8Array;
  key: KeyPair | { keyId: string; privateKey: KeyObject };
  /** the manifest expires this many days after it is made (default 30) */
  expiresDays?: number;
  samples?: ValidationSample[];
  tolerance?: number;
  minPackageVersion?: string;
}

/** Lays a version out in the registry and makes it the newest; returns its signed manifest. */
export function packageModel(o: PackageOptions): SignedManifest {
  const name = o.manifest.name;
  const version = o.manifest.version;
  const created = o.manifest.created ?? new Date().toISOString();
  const manifest: UpdateManifest = {
    ...o.manifest,
    created,
    sha256: sha256Hex(o.onnx),
    size: o.onnx.length,
    artifact: `${version}/model.onnx`,
    expires: new Date(Date.now() + (o.expiresDays ?? 30) * 86_400_000).toISOString(),
    ...(o.minPackageVersion ? { minPackageVersion: o.minPackageVersion } : {}),
    ...(o.samples ? { validation: { samples: o.samples, tolerance: o.tolerance ?? 1e-4 } } : {}),
  };
  const signed = signManifest(manifest, o.key.privateKey, o.key.keyId);
  const dir = path.join(o.registry, name, version);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), o.onnx);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(signed, null, 2));
  // the newest last, replaced whole, so a server never serves half a manifest
  const latest = path.join(o.registry, name, 'manifest.json');
  fs.writeFileSync(`${latest}.tmp`, JSON.stringify(signed, null, 2));
  fs.renameSync(`${latest}.tmp`, latest);
  return signed;
}

export interface ServerFaults {
  /** bytes per second for model files (0: full speed) */
  rate?: number;
  /** cut each model download after this many bytes, this many times */
  dropAfter?: number;
  drops?: number;
  /** ignore Range requests (a server that cannot resume) */
  noRanges?: boolean;
}

/** Serves a registry directory over HTTP on loopback, with ETags and byte ranges. */
export class RegistryServer {
  private server: http.Server | undefined;
  port = 0;
  faults: ServerFaults = {};
  /** each request: its status, body bytes sent, and the bytes on the wire both ways (HTTP/1.1 headers included) */
  readonly log: Array<{ path: string; status: number; bytes: number; range?: string; wireIn: number; wireOut: number }> = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly root: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rel = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const file = path.join(this.root, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''));
    const head = `${req.method} ${req.url} HTTP/1.1\r\n${req.rawHeaders.reduce((a, h, i) => a + h + (i % 2 ? '\r\n' : ': '), '')}\r\n`;
    const entry = { path: rel, status: 200, bytes: 0, range: req.headers.range, wireIn: Buffer.byteLength(head), wireOut: 0 };
    this.log.push(entry);
    const sentBefore = req.socket.bytesWritten;
    res.once('finish', () => { entry.wireOut = req.socket.bytesWritten - sentBefore; });
    if (!file.startsWith(this.root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      entry.status = 404;
      res.writeHead(404).end();
      return;
    }
    const body = fs.readFileSync(file);
    const etag = `"${sha256Hex(body).slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      entry.status = 304;
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const isModel = file.endsWith('.onnx');
    if (range && !this.faults.noRanges && Number(range[1]) < body.length) {
      start = Number(range[1]);
      entry.status = 206;
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`, 'Accept-Ranges': 'bytes', ETag: etag });
    } else {
      res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': isModel ? 'application/octet-stream' : 'application/json', 'Accept-Ranges': this.faults.noRanges ? 'none' : 'bytes', ETag: etag });
    }
    const chunk = 16 * 1024;
    for (let at = start; at < body.length; at += chunk) {
      const piece = body.subarray(at, Math.min(body.length, at + chunk));
      if (isModel && this.faults.dropAfter !== undefined && (this.faults.drops ?? 0) > 0 && at - start + piece.length > this.faults.dropAfter) {
        this.faults.drops = (this.faults.drops ?? 0) - 1;
        const part = body.subarray(at, at + Math.max(0, this.faults.dropAfter - (at - start)));
        entry.bytes += part.length;
        // the part goes out, then the connection is cut
        await new Promise<void>((resolve) => res.write(part, () => resolve()));
        await new Promise((r) => setTimeout(r, 20));
        req.socket.destroy();
        return;
      }
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      entry.bytes += piece.length;
      if (isModel && this.faults.rate) await new Promise((r) => setTimeout(r, (piece.length / this.faults.rate!) * 1000));
    }
    res.end();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}
