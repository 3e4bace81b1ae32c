/**
 * edge-ingest: the cloud side of edge-uplink. Subscribes on an edge-mqtt-broker (a shared subscription when a
 * group is set), unpacks every format the uplink sends, and sends one message per record, each exactly once:
 * resends are dropped by the ledger (SQLite) before the broker is acknowledged.
 * Output 1: the records; output 2: events (gaps, new epochs, undecodable publishes) and the answer to
 * `msg.command = "stats"`.
 */
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { MqttBrokerHandle } from '../core/connections/config-handles';
import { StateSettings, stateDir } from '../core/shared/state-dir';
import { writableDirProblem } from '../core/shared/json-store';
import { IngestLedger } from '../core/ingest/ingest-ledger';
import { Ingest, IngestEvent, Released } from '../core/ingest/ingest';
import { ingestOptions, IngestSettings } from '../core/ingest/ingest-settings';
import { shortText, StatusBadge } from '../core/shared/status';
import { KeyedError } from '../core/shared/errors';
import { DoneFn, guarded, nodeKit, SendFn } from '../kit/node-kit';

interface IngestDef extends NodeDef, IngestSettings {
  broker: string;
}

export = function register(RED: NodeAPI): void {
  function EdgeIngest(this: Node, def: IngestDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-ingest');
    const { t, status } = kit;
    const broker = RED.nodes.getNode(def.broker) as (Node & MqttBrokerHandle) | null;
    const options = ingestOptions(def);
    const problems = kit.words(options.problems);
    if (!broker) problems.unshift(t('errors.noBroker'));
    else if (broker.problem) problems.unshift(broker.problem);
    const dir = stateDir(RED.settings as unknown as StateSettings, 'ingest');
    const unwritable = problems.length ? undefined : writableDirProblem(dir);
    if (unwritable) problems.push(t('errors.unwritable', { dir, error: unwritable }));

    let ledger: IngestLedger | undefined;
    if (!problems.length) {
      try {
        ledger = new IngestLedger(path.join(dir, `${options.ledger ?? node.id}.db`), { window: options.window });
        if (ledger.opened.movedAside) node.warn(t('log.movedAside', { file: ledger.opened.movedAside, reason: ledger.opened.reason }));
      } catch (err) {
        problems.push(t('errors.open', { error: kit.describe(err) }));
      }
    }
    if (problems.length) kit.configError(problems);
    const ingest = ledger && new Ingest(ledger, options.holdMs);
    const seen = { records: 0, duplicates: 0, gaps: 0, unchecked: 0, held: ledger?.stats().held ?? 0 };
    let link: StatusBadge = {};

    const badge = (): StatusBadge => (link.fill !== 'green' ? link
      : { fill: 'green', shape: 'dot', text: shortText(t(options.holdMs ? 'status.countsHeld' : 'status.counts', seen)) });

    function sendEvent(e: IngestEvent | { kind: 'undecodable'; topic: string; bytes: number; error: string }): void {
      const { kind, ...payload } = e;
      const words = kind === 'invalid' ? { error: t('events.invalid', { count: e.count }) } : {};
      node.send([null, { topic: kind, payload: { ...payload, ...words } } as NodeMessage]);
    }

    /** One publish: decided and sent on before the handler returns, so the broker is acknowledged after that. */
    function onPublish(topic: string, payload: Buffer): void {
      let received;
      try {
        received = ingest!.receive(topic, payload);
      } catch (err) {
        if (err instanceof KeyedError && err.key === 'undecodable') {
          const vars = err.vars as { topic: string; bytes: number; error: string };
          sendEvent({ kind: 'undecodable', ...vars });
          node.error(kit.describe(err), { topic: 'undecodable', payload: vars } as NodeMessage);
          status.alert({ fill: 'red', shape: 'ring', text: shortText(t('status.undecodable')) });
          return;
        }
        // the ledger cannot be written (disk, I/O): the records go on unchecked rather than being lost
        return letThroughUnchecked(topic, payload, err);
      }
      seen.duplicates += received.duplicates;
      seen.held += received.held;
      sendOn(received);
    }

    function sendOn(out: Released): void {
      seen.records += out.records.length;
      seen.held -= out.released;
      for (const e of out.events) {
        if (e.kind === 'gap') seen.gaps += e.count;
        sendEvent(e);
      }
      if (out.records.length) node.send([out.records as unknown as NodeMessage[], null]);
      status.set(badge);
    }

    /** Restoring order: what has waited long enough goes on (a ledger that is busy now is tried at the next tick). */
    let releaseFailing = false;
    function releaseDue(): void {
      try {
        sendOn(ingest!.releaseDue());
        releaseFailing = false;
      } catch (err) {
        status.alert({ fill: 'red', shape: 'ring', text: shortText(t('status.ledger')) });
        // said once until it works again, not at every tick
        if (!releaseFailing) node.error(t('errors.release', { error: kit.describe(err) }));
        releaseFailing = true;
      }
    }

    function letThroughUnchecked(topic: string, payload: Buffer, err: unknown): void {
      const records = Ingest.unchecked(payload);
      seen.unchecked += records.length;
      node.error(t('errors.ledger', { topic, count: records.length, error: kit.describe(err) }));
      status.alert({ fill: 'red', shape: 'ring', text: shortText(t('status.ledger')) });
      if (records.length) node.send([records as unknown as NodeMessage[], null]);
    }

    let unsubscribe: (removed: boolean) => void = () => undefined;
    let unwatch: () => void = () => undefined;
    let releaseTimer: NodeJS.Timeout | undefined;
    if (ingest) {
      // held records (of this run or from before a restart) are released within a quarter of the hold time late
      if (options.holdMs) releaseTimer = setInterval(releaseDue, Math.max(50, options.holdMs / 4));
      unwatch = broker!.onStatus((b) => {
        link = b;
        status.now(badge());
      });
      broker!.connection!.register(node.id);
      unsubscribe = broker!.connection!.subscribe(options.subscription, options.qos, onPublish);
    }

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!ingest) return kit.notConfigured(done);
      if ((msg as { command?: unknown }).command !== 'stats') return done(new Error(t('errors.input')));
      send([null, { ...msg, topic: 'stats', payload: { ...ledger!.stats(), undecodable: ingest.undecodable, invalid: ingest.invalid, unchecked: seen.unchecked } } as NodeMessage]);
      done();
    }

    function onClose(removed: boolean, done: () => void): void {
      unsubscribe(removed);
      unwatch();
      clearInterval(releaseTimer);
      status.stop();
      ledger?.close();
      if (ingest) broker!.connection!.deregister(node.id).then(() => done(), () => done());
      else done();
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-ingest', EdgeIngest);
};
