/**
 * edge-uplink: store-and-forward to the cloud broker. Each message is written to a SQLite queue on disk before it
 * is accepted (done() waits for that), and deleted only when the broker acknowledged the publish that carried it.
 * Output 1: statistics (on `msg.command = "stats"`); output 2: drop events (full buffer, age, too large, a topic
 * that cannot be published, a publish the broker refused).
 */
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { MqttBrokerHandle } from '../core/connections/config-handles';
import { StateSettings, stateDir } from '../core/shared/state-dir';
import { DropEvent } from '../core/uplink/durable-queue';
import { writableDirProblem } from '../core/shared/json-store';
import { Uplink } from '../core/uplink/uplink';
import { UplinkSettings, uplinkOptions } from '../core/uplink/uplink-settings';
import { shortText } from '../core/shared/status';
import { DoneFn, guarded, instanceGatewayId, nodeKit, SendFn } from '../kit/node-kit';

interface UplinkDef extends NodeDef, UplinkSettings {
  broker: string;
}

export = function register(RED: NodeAPI): void {
  function EdgeUplink(this: Node, def: UplinkDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-uplink');
    const { t, status } = kit;
    const broker = RED.nodes.getNode(def.broker) as (Node & MqttBrokerHandle) | null;
    const options = uplinkOptions(def, instanceGatewayId(RED));
    const problems = options.problems.map((key) => t(`errors.${key}`));
    if (!broker) problems.unshift(t('errors.noBroker'));
    else if (broker.problem) problems.unshift(broker.problem);
    const dir = stateDir(RED.settings as unknown as StateSettings, 'uplink');
    const unwritable = problems.length ? undefined : writableDirProblem(dir);
    if (unwritable) problems.push(t('errors.unwritable', { dir, error: unwritable }));

    let uplink = problems.length ? undefined : new Uplink(path.join(dir, `${node.id}.db`), options, broker!.connection!);

    // the dot tells the link (green connected, yellow ring offline or waiting, red a full disk); the text the backlog
    const badge = () => {
      const state = uplink!.state;
      return {
        fill: state === 'diskFull' ? 'red' as const : state === 'connected' ? 'green' as const : 'yellow' as const,
        shape: state === 'connected' ? 'dot' as const : 'ring' as const,
        // longer than most badges: the link and the backlog are both worth reading at a glance
        text: shortText(t(`status.${state}`, { count: uplink!.queued })),
      };
    };
    function reportDrop(e: DropEvent): void {
      const payload = { reason: e.reason, count: e.count, bytes: e.bytes, ids: e.ids, ...(e.error ? { error: e.error } : {}) };
      node.send([null, { topic: 'drop', payload } as NodeMessage]);
    }
    if (uplink) {
      uplink.on('drop', reportDrop);
      uplink.on('state', () => status.now(badge()));
      uplink.on('progress', () => status.set(badge));
      uplink.on('locked', (err: Error) => node.warn(t('log.locked', { error: kit.describe(err) })));
      uplink.on('open', () => node.log(t('log.open')));
      uplink.on('moved-aside', (file: string, reason: string) => node.warn(t('log.movedAside', { file, reason })));
      uplink.on('warning', (err: Error) => node.warn(kit.describe(err)));
      uplink.on('error', (err: Error) => {
        node.error(t('errors.open', { error: kit.describe(err) }));
        status.now({ fill: 'red', shape: 'ring', text: t('status.config') });
      });
      try {
        uplink.open();
        broker!.connection!.register(node.id);
      } catch (err) {
        problems.push(t('errors.open', { error: kit.describe(err) }));
        uplink = undefined;
      }
    }
    if (problems.length) kit.configError(problems);

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!uplink) return kit.notConfigured(done);
      const m = msg as unknown as Record<string, unknown>;
      if (m.command === 'stats') {
        const stats = uplink.stats();
        // the link in words, for a dashboard text or an operator's glance at the debug sidebar
        send([{ ...m, payload: { ...stats, link: t(`link.${stats.state}`) } } as unknown as NodeMessage, null]);
        return done();
      }
      const topic = typeof m.topic === 'string' && m.topic ? m.topic : 'edge';
      const ts = typeof m.ts === 'number' && Number.isFinite(m.ts) ? m.ts : Date.now();
      uplink.accept(topic, ts, m.payload, (err) => {
        if (!err) return done();
        kit.fail(done, err, 'status.refused');
        status.set(badge); // the link's badge comes back once the refusal has been seen
      });
    }

    function onClose(_removed: boolean, done: () => void): void {
      uplink?.close();
      status.stop();
      if (uplink) broker!.connection!.deregister(node.id).then(() => done(), () => done());
      else done();
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-uplink', EdgeUplink);
};
