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
import { DoneFn, guarded, instanceGatewayId, nodeKit, SendFn } from '../kit/node-kit';
import { MqttBrokerHandle } from '../core/connections/config-handles';
import { StateSettings, stateDir } from '../core/shared/state-dir';
import { ModelHandle } from '../core/models/model-binding';
import { ModelUpdater, UpdateReport } from '../core/updates/model-updater';
import { logWords, statusBadge, statusWords } from '../core/updates/update-report';
import { SessionPool } from '../core/inference/session-pool';
import { packageVersion } from '../core/shared/package-info';
import { parseTrustedKeys } from '../core/updates/update-manifest';
import { UpdateFeed } from '../core/updates/update-feed';
import { UpdateSettings, updateOptions } from '../core/updates/update-settings';
import { shortText } from '../core/shared/status';
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
    problems.push(...kit.words(trusted.problems));
    const o = updateOptions(def, instanceGatewayId(RED));
    if (o.requireSignature && trusted.keys.size === 0 && !problems.length) problems.push(t('errors.noKeys'));
    const broker = def.broker ? (RED.nodes.getNode(def.broker) as (Node & MqttBrokerHandle) | null) : null;
    if (o.needsBroker && !broker) problems.push(t('errors.noBroker'));
    for (const key of o.problems) problems.push(t(`errors.${key}`));
    const own = stateDir(settings, 'model-update');
    const unwritable = problems.length ? undefined : writableDirProblem(own) ?? (handle?.store ? writableDirProblem(handle.store.root) : undefined);
    if (unwritable) problems.push(t('errors.unwritable', { dirs: `${own}, ${handle?.store?.root ?? ''}`, error: unwritable }));

    if (problems.length) {
      kit.configError(problems);
      node.on('input', guarded(kit, (_msg: NodeMessageInFlow, _send: SendFn, done: DoneFn) => kit.notConfigured(done)));
      return;
    }

    const store = handle!.store!;
    const updater = new ModelUpdater({
      store, sessions: SessionPool.shared(), model: handle!.name, keys: trusted.keys, requireSignature: o.requireSignature, maxBytes: o.maxBytes, idleTimeoutMs: o.timeoutMs,
      attempts: 5, probationRuns: o.probationRuns, keep: o.keep,
      stateFile: path.join(own, `${node.id}.json`), tempDir: path.join(own, 'downloads'), packageVersion: packageVersion(),
      gateway: o.gateway, shadow: o.shadow,
    });
    const connection = broker?.connection;
    if (connection) connection.register(node.id);
    const feed = new UpdateFeed(o, handle!.name, updater, connection);

    /** Each report with the version the store serves now and the report in words: what a dashboard shows. */
    function onReport(r: UpdateReport): void {
      const words = statusWords(r);
      const text = t(words.key, words.vars);
      const active = store.active(handle!.name)?.version;
      // the gateway in every report: a fleet's status topics say who took a version
      const report = { ...r, gateway: o.gateway, active, text, at: new Date().toISOString() };
      node.send({ topic: `model/${r.model}`, payload: report } as NodeMessage);
      status.now({ ...statusBadge(r), text: shortText(text) });
      const line = logWords(r, active);
      if (line) node[line.level](t(line.words.key, line.words.vars));
      // the fleet's view: the last state of this gateway's model, retained
      if (connection && o.statusTopic && r.state !== 'downloading') {
        void connection.publish(o.statusTopic, JSON.stringify(report), { qos: 1, retain: true }).catch(() => undefined);
      }
    }
    updater.on('report', onReport);
    feed.on('unreachable', (err: unknown) => {
      status.now({ fill: 'red', shape: 'ring', text: shortText(t('status.unreachable')) });
      node.debug(t('log.checkFailed', { error: errorText(err) }));
    });
    feed.start();
    // what is served before any check is the first report, so a dashboard has the version from the start; it goes
    // once every node of the deploy exists (a message sent while the flow starts could find no one to take it)
    function announce(): void {
      const active = store.active(handle!.name);
      if (active) onReport({ model: handle!.name, version: active.version, state: 'serving' });
      // a shadow from before a restart goes on (a report of its own)
      updater.start();
    }
    status.now({ fill: 'grey', shape: 'dot', text: shortText(t('status.none')) });
    RED.events.once('flows:started', announce);

    /** rollback, pin, unpin; a signed manifest handed over by the flow (e.g. from an http in node); or "check now". */
    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      const m = msg as unknown as Record<string, unknown>;
      const finish = (r: UpdateReport | undefined) => {
        if (r && r.state === 'up-to-date') send({ ...m, payload: r } as unknown as NodeMessage);
        done(r?.state === 'rejected' ? new Error(r.reason) : undefined);
      };
      const fail = (err: unknown) => done(new Error(errorText(err)));
      if (m.command === 'rollback') return void updater.rollback().then(finish, fail);
      if (m.command === 'unpin') return void updater.unpin().then(finish, fail);
      if (m.command === 'pin') {
        if (typeof m.version !== 'string' || !m.version) return done(new Error(t('errors.pinVersion')));
        return void updater.pin(m.version).then(finish, fail);
      }
      if (m.payload && typeof m.payload === 'object' && 'manifest' in (m.payload as object)) {
        return void updater.offer(m.payload, typeof m.artifactBase === 'string' ? { url: m.artifactBase } : {}).then(finish, fail);
      }
      if (feed.pushed) return done(new Error(t('errors.mqttCheck')));
      feed.check(true).then(() => done(), fail);
    }

    function onClose(removed: boolean, done: () => void): void {
      RED.events.removeListener('flows:started', announce);
      feed.stop(removed);
      updater.close();
      status.stop();
      if (connection) connection.deregister(node.id).then(() => done(), () => done());
      else done();
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType<Node<UpdateCredentials>, UpdateDef, unknown, UpdateCredentials>('edge-model-update', EdgeModelUpdate, {
    credentials: { trustedKeys: { type: 'text' } },
  });
};
