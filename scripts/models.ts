/**
 * Model tools (run from a clone of the repository: `npm run models -- <command>`):
 *
 *   generate <dir> [--version V]       train the pump models and write <name>.onnx, <name>.manifest.json, heldout.json
 *   compress <model.onnx> <manifest.json> [--quantize] [--prune 0.5] [--heldout heldout.json] [--out file.onnx]
 *                                      write a compressed model and its manifest; print the report
 *   install <store> <model.onnx> <manifest.json> [--activate]
 *                                      put a version into a model store (as edge-model reads it)
 *   activate <store> <name> <version>  point a model at an installed version
 *   rollback <store> <name>            go back to the previous version
 *   list <store> [name]                show models and versions
 *
 * The publishing side of model updates (the cloud layer):
 *
 *   keygen <dir> <key id>              make an ed25519 signing key: <dir>/<id>.key (secret) and <dir>/<id>.pub (the
 *                                      line a gateway's trusted keys take)
 *   package <registry> <model.onnx> <manifest.json> --key <id.key> --key-id <id> [--version V] [--expires-days 30]
 *           [--samples samples.json] [--tolerance 1e-4] [--min-package V] [--training training-set.json]
 *           (--training: rows of the model's training set, arrays in feature order or objects by feature, or
 *           {"x": rows}; their statistics go into the manifest for drift and explanations)
 *                                      sign the manifest and lay the version out as static files in the registry
 *   publish <registry> <name> <mqtt url> <topic>
 *                                      publish the newest signed manifest to an MQTT topic, retained
 *   serve <registry> [--port 8080]     serve the registry over HTTP (ETags, byte ranges)
 */
import fs from 'node:fs';
import path from 'node:path';
import { ModelManifest } from '../nodes/core/models/model-manifest';
import { ModelStore, sha256Hex } from '../nodes/core/models/model-store';
import { compare, prune, quantizeDynamic, Variant } from './lib/compress';
import { buildZoo, HeldOut } from './lib/model-zoo';
import mqtt from 'mqtt';
import { trainingRows, trainingStats } from '../nodes/core/monitoring/training-stats';
import { loadPrivateKey, makeKeyPair, packageModel, RegistryServer, saveKeyPair } from './lib/registry';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function positional(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith('--')) {
      if (!['--quantize', '--activate'].includes(args[i])) i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/** Writes the generated models into dir; returns what was written. */
export function generate(dir: string, version = '1', trainWindows?: number): { files: Record<string, { onnx: string; manifest: string }>; heldOut: string } {
  fs.mkdirSync(dir, { recursive: true });
  const zoo = buildZoo({ version, trainWindows });
  const files: Record<string, { onnx: string; manifest: string }> = {};
  for (const m of zoo.models) {
    const onnx = path.join(dir, `${m.name}.onnx`);
    const manifest = path.join(dir, `${m.name}.manifest.json`);
    fs.writeFileSync(onnx, m.onnx);
    fs.writeFileSync(manifest, JSON.stringify(m.manifest, null, 2));
    files[m.name] = { onnx, manifest };
  }
  const heldOut = path.join(dir, 'heldout.json');
  fs.writeFileSync(heldOut, JSON.stringify(zoo.heldOut));
  return { files, heldOut };
}

/** Compressed variants of a model with the comparison report. */
export async function compressionReport(onnx: Uint8Array, manifest: ModelManifest, heldOut: HeldOut, sparsity = 0.5) {
  const variants: Variant[] = [
    { label: 'original', onnx },
    { label: 'int8', onnx: quantizeDynamic(onnx).model },
    { label: `pruned ${Math.round(sparsity * 100)}%`, onnx: prune(onnx, sparsity).model },
    { label: `pruned ${Math.round(sparsity * 100)}% + int8`, onnx: quantizeDynamic(prune(onnx, sparsity).model).model },
  ];
  return compare(variants, manifest, heldOut.x, heldOut.y);
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const pos = positional(args);
  switch (command) {
    case 'generate': {
      const dir = pos[0] ?? 'models';
      const out = generate(dir, option(args, '--version') ?? '1');
      for (const [name, f] of Object.entries(out.files)) {
        const m = readJson<ModelManifest>(f.manifest);
        console.log(`${name}: ${fs.statSync(f.onnx).size} bytes, ${JSON.stringify(m.metrics)}`);
      }
      return;
    }
    case 'compress': {
      const [modelFile, manifestFile] = pos;
      if (!modelFile || !manifestFile) throw new Error('usage: compress <model.onnx> <manifest.json> [--quantize] [--prune S] [--heldout F] [--out F]');
      const original = fs.readFileSync(modelFile);
      const manifest = readJson<ModelManifest>(manifestFile);
      const sparsity = option(args, '--prune');
      let bytes: Uint8Array = original;
      const steps: string[] = [];
      if (sparsity) {
        bytes = prune(bytes, Number(sparsity)).model;
        steps.push(`pruned${Math.round(Number(sparsity) * 100)}`);
      }
      if (args.includes('--quantize')) {
        bytes = quantizeDynamic(bytes).model;
        steps.push('int8');
      }
      if (!steps.length) throw new Error('choose --quantize and/or --prune <share>');
      const out = option(args, '--out') ?? modelFile.replace(/\.onnx$/, `.${steps.join('-')}.onnx`);
      fs.writeFileSync(out, bytes);
      const newManifest: ModelManifest = { ...manifest, version: `${manifest.version}-${steps.join('-')}`, sha256: sha256Hex(bytes), created: new Date().toISOString() };
      fs.writeFileSync(out.replace(/\.onnx$/, '.manifest.json'), JSON.stringify(newManifest, null, 2));
      const heldOutFile = option(args, '--heldout');
      if (heldOutFile) {
        const h = readJson<HeldOut>(heldOutFile);
        const report = await compare([{ label: 'original', onnx: original }, { label: steps.join(' + '), onnx: bytes }], manifest, h.x, h.y);
        for (const r of report) console.log(JSON.stringify(r));
      } else {
        console.log(JSON.stringify({ out, bytes: bytes.length, originalBytes: original.length }));
      }
      return;
    }
    case 'install': {
      const [store, modelFile, manifestFile] = pos;
      const manifest = readJson<ModelManifest>(manifestFile);
      const v = ModelStore.shared(store).install(manifest, fs.readFileSync(modelFile));
      if (args.includes('--activate')) ModelStore.shared(store).activate(v.name, v.version);
      console.log(`installed ${v.name} ${v.version}${args.includes('--activate') ? ' (active)' : ''}`);
      return;
    }
    case 'activate':
      ModelStore.shared(pos[0]).activate(pos[1], pos[2]);
      console.log(`${pos[1]} -> ${pos[2]}`);
      return;
    case 'rollback':
      console.log(`${pos[1]} -> ${ModelStore.shared(pos[0]).rollback(pos[1]).version}`);
      return;
    case 'list': {
      const store = ModelStore.shared(pos[0]);
      for (const name of pos[1] ? [pos[1]] : store.models()) {
        const active = store.active(name)?.version;
        for (const v of store.versions(name)) {
          console.log(`${name}\t${v.version}${v.version === active ? '\tactive' : ''}${v.bad ? `\tbad: ${v.bad}` : ''}`);
        }
      }
      return;
    }
    case 'keygen': {
      const files = saveKeyPair(pos[0], makeKeyPair(pos[1]));
      console.log(`secret key: ${files.privateFile}\ntrust line: ${fs.readFileSync(files.publicFile, 'utf8').trim()}`);
      return;
    }
    case 'package': {
      const [registry, modelFile, manifestFile] = pos;
      const keyFile = option(args, '--key');
      const keyId = option(args, '--key-id');
      if (!keyFile || !keyId) throw new Error('package needs --key <file.key> and --key-id <id>');
      const manifest = readJson<ModelManifest>(manifestFile);
      const version = option(args, '--version') ?? manifest.version;
      const samplesFile = option(args, '--samples');
      const trainingFile = option(args, '--training');
      if (trainingFile && !manifest.features?.length) throw new Error('--training needs the manifest\'s "features" (the names of the input values)');
      const training = trainingFile ? trainingStats(trainingRows(readJson(trainingFile), manifest.features!), manifest.features!) : manifest.training;
      const signed = packageModel({
        registry, manifest: { ...manifest, version, created: new Date().toISOString(), ...(training ? { training } : {}) }, onnx: fs.readFileSync(modelFile),
        key: { keyId, privateKey: loadPrivateKey(keyFile) }, expiresDays: Number(option(args, '--expires-days') ?? 30),
        samples: samplesFile ? readJson(samplesFile) : undefined, tolerance: Number(option(args, '--tolerance') ?? 1e-4),
        minPackageVersion: option(args, '--min-package'),
      });
      console.log(`${signed.manifest.name} ${signed.manifest.version}: ${path.join(registry, signed.manifest.name, 'manifest.json')} (signed by ${keyId}, expires ${signed.manifest.expires})`);
      return;
    }
    case 'publish': {
      const [registry, name, url, topic] = pos;
      const text = fs.readFileSync(path.join(registry, name, 'manifest.json'), 'utf8');
      const client = await mqtt.connectAsync(url);
      await client.publishAsync(topic, text, { qos: 1, retain: true });
      await client.endAsync();
      console.log(`published ${name} to ${topic} (retained)`);
      return;
    }
    case 'serve': {
      const server = new RegistryServer(path.resolve(pos[0]));
      await server.start(Number(option(args, '--port') ?? 8080));
      console.log(`serving ${pos[0]} at ${server.url}/ (Ctrl-C stops)`);
      await new Promise(() => undefined);
      return;
    }
    default:
      throw new Error('commands: generate, compress, install, activate, rollback, list, keygen, package, publish, serve (see scripts/models.ts)');
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
