/**
 * edge-model-update: keeps an edge-model's store up to date from the cloud, safely. Manifests come from an HTTP(S)
 * registry (polled with ETags), an MQTT push (a retained message per model) or a directory; each is verified
 * (ed25519 signature by a trusted key, expiry, no downgrade, sha256 and size), health-checked and only then
 * activated; a new version that fails in its first runs is rolled back. Reports go to the output and, optionally,
 * to a retained MQTT status topic.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { guarded, nodeKit } from '../kit/node-kit';
import { MqttBrokerHandle } from '../core/connections/config-handles';
import { StateSettings, stateDir } from '../core/shared/state-dir';
import { ModelHandle } from '../core/models/model-binding';
import { ModelUpdater, UpdateReport } from '../core/updates/model-updater';
import { packageVersion } from '../core/shared/package-info';
import { parseTrustedKeys } from '../core/updates/update-manifest';
import { DirectorySource, HttpManifestSource, Offer } from '../core/updates/update-sources';
import { UpdateSettings, updateOptions } from '../core/updates/update-settings';
import { shortText, StatusThrottle } from '../core/shared/status';
import { errorText } from '../core/shared/errors';
import { writableDirProblem } from '../core/shared/json-store';

interface UpdateDef extends NodeDef, UpdateSettings {
  model: string;
  broker: string;
  keysFile: string;
}

interface UpdateCredentials {
  trustedKeys?: string;
}

type SendFn = (msg: NodeMessage) => void;
type DoneFn = (err?: Error) => void;

const FILL: Record<string, 'green' | 'yellow' | 'red' | 'blue' | 'grey'> = {
  active: 'green', confirmed: 'green', 'up-to-date': 'green', pinned: 'blue', unpinned: 'blue', held: 'blue',
  downloading: 'yellow', verifying: 'yellow', 'health-check': 'yellow', rejected: 'red', 'rolled-back': 'red',
};

export = function register(RED: NodeAPI): void {
  function EdgeModelUpdate(this: Node<UpdateCredentials>, def: UpdateDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-model-update');
    const { t, status } = kit;
    const problems: string[] = [];

    const modelNode = RED.nodes.getNode(def.model) as (Node & { handle: ModelHandle }) | null;
    const handle = modelNode?.handle;
    if (!handle) problems.push(t('errors.noModel'));
    else if (handle.problem) problems.push(handle.problem);
    else if (!handle.store) problems.push(t('errors.fileModel'));

    const settings = RED.settings as unknown as StateSettings;
    let keysText = node.credentials?.trustedKeys ?? '';
    if ((def.keysFile ?? '').trim()) {
      try {
        // a relative path is in the Node-RED user directory
        keysText += `\n${fs.readFileSync(path.resolve(settings.userDir ?? process.cwd(), def.keysFile.trim()), 'utf8')}`;
      } catch (err) {
        problems.push(t('errors.keysFile', { error: errorText(err) }));
      }
    }
    const trusted = parseTrustedKeys(keysText);
    for (const p of trusted.problems) problems.push(t('errors.key', { problem: p }));
    const o = updateOptions(def);
    if (o.requireSignature && trusted.keys.size === 0 && !problems.length) problems.push(t('errors.noKeys'));
    const broker = def.broker ? (RED.nodes.getNode(def.broker) as (Node & MqttBrokerHandle) | null) : null;
    if (o.needsBroker && !broker) problems.push(t('errors.noBroker'));
    for (const key of o.problems) problems.push(t(`errors.${key}`));
    const own = stateDir(settings, 'model-update');
    const unwritable = problems.length ? undefined : writableDirProblem(own) ?? (handle?.store ? writableDirProblem(handle.store.root) : undefined);
    if (unwritable) problems.push(t('errors.unwritable', { dirs: `${own}, ${handle?.store?.root ?? ''}`, error: unwritable }));

    if (problems.length) {
      node.error(t('errors.config', { problems: problems.join('; ') }));
      node.status({ fill: 'red', shape: 'ring', text: t('status.config') });
      node.on('input', (_m: NodeMessageInFlow, _s: SendFn, done: DoneFn) => done(new Error(t('errors.notConfigured'))));
      return;
    }

    const store = handle!.store!;
    const updater = new ModelUpdater({
      store, model: handle!.name, keys: trusted.keys, requireSignature: o.requireSignature, maxBytes: o.maxBytes, idleTimeoutMs: o.timeoutMs,
      attempts: 5, probationRuns: o.probationRuns, keep: o.keep,
      stateFile: path.join(own, `${node.id}.json`), tempDir: path.join(own, 'downloads'), packageVersion: packageVersion(),
    });
    const connection = broker?.connection;
    if (connection) connection.register(node.id);

    updater.on('report', (r: UpdateReport) => {
      const report = { ...r, at: new Date().toISOString() };
      node.send({ topic: `model/${r.model}`, payload: report } as NodeMessage);
      const text = r.state === 'downloading' ? t('status.downloading', { version: r.version, percent: Math.round((r.progress ?? 0) * 100) })
        : t(`status.${r.state}`, { version: r.version ?? '' });
      status.now({ fill: FILL[r.state] ?? 'grey', shape: r.state === 'rejected' || r.state === 'rolled-back' ? 'ring' : 'dot', text: shortText(text, 32) });
      if (r.state === 'rejected' || r.state === 'rolled-back') node.warn(t(`log.${r.state}`, { version: r.version ?? '?', reason: r.reason ?? '' }));
      // the fleet's view: the last state of this gateway's model, retained
      if (connection && o.statusTopic && r.state !== 'downloading') {
        void connection.publish(o.statusTopic, JSON.stringify(report), { qos: 1, retain: true }).catch(() => undefined);
      }
    });

    const offer = (o: Offer | undefined) => (o ? updater.offer(o.envelope, o.base) : Promise.resolve(undefined));
    const http = o.source === 'http' ? new HttpManifestSource(o.url, o.timeoutMs) : undefined;
    const dir = o.source === 'directory' ? new DirectorySource(o.directory, handle!.name) : undefined;
    /** One check of the source; a refused manifest is fetched again next time (the ETag is forgotten). */
    const check = async (force: boolean): Promise<void> => {
      if (http) {
        if (force) http.reset();
        const report = await offer(await http.check());
        if (report?.state === 'rejected') http.reset();
      } else if (dir) {
        await offer(dir.check(force));
      }
    };
    const checkQuietly = () => check(false).catch((err) => {
      status.now({ fill: 'red', shape: 'ring', text: shortText(t('status.unreachable'), 32) });
      node.debug(t('log.checkFailed', { error: errorText(err) }));
    });
    const timer = o.source !== 'mqtt' ? setInterval(() => void checkQuietly(), o.intervalMs) : undefined;
    const first = o.source !== 'mqtt' ? setTimeout(() => void checkQuietly(), 100) : undefined;
    let unsubscribe: ((removed: boolean) => void) | undefined;
    if (o.source === 'mqtt' && connection) {
      const base = o.artifactBase;
      unsubscribe = connection.subscribe(o.topic, 1, (_topic, payload) => {
        let envelope: unknown;
        try {
          envelope = JSON.parse(payload.toString('utf8'));
        } catch {
          envelope = undefined;
        }
        void updater.offer(envelope, base ? { url: base } : {});
      });
    }
    const active = store.active(handle!.name);
    node.status({ fill: 'grey', shape: 'dot', text: shortText(active ? t('status.serving', { version: active.version }) : t('status.none'), 32) });

    node.on('input', guarded(kit, (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      const m = msg as unknown as Record<string, unknown>;
      const finish = (r: UpdateReport | undefined) => {
        if (r && r.state === 'up-to-date') send({ ...m, payload: r } as unknown as NodeMessage);
        done(r?.state === 'rejected' ? new Error(r.reason) : undefined);
      };
      const fail = (err: unknown) => done(new Error(errorText(err)));
      switch (m.command) {
        case 'rollback': return void updater.rollback().then(finish, fail);
        case 'pin':
          if (typeof m.version !== 'string' || !m.version) return done(new Error(t('errors.pinVersion')));
          return void updater.pin(m.version).then(finish, fail);
        case 'unpin': return void updater.unpin().then(finish, fail);
        default:
          // a signed manifest handed over by the flow (e.g. from an http in node), or "check now"
          if (m.payload && typeof m.payload === 'object' && 'manifest' in (m.payload as object)) {
            const base = typeof m.artifactBase === 'string' ? { url: m.artifactBase } : {};
            return void updater.offer(m.payload, base).then(finish, fail);
          }
          if (o.source === 'mqtt') return done(new Error(t('errors.mqttCheck')));
          return void check(true).then(() => done(), fail);
      }
    }));

    node.on('close', (removed: boolean, done: () => void) => {
      clearInterval(timer);
      clearTimeout(first);
      unsubscribe?.(removed);
      updater.close();
      status.stop();
      if (connection) connection.deregister(node.id).then(() => done(), () => done());
      else done();
    });
  }

  RED.nodes.registerType<Node<UpdateCredentials>, UpdateDef, unknown, UpdateCredentials>('edge-model-update', EdgeModelUpdate, {
    credentials: { trustedKeys: { type: 'text' } },
  });
};
