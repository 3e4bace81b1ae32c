/**
 * edge-uplink: store-and-forward to the cloud broker. Each message is written to a SQLite queue on disk before it
 * is accepted (done() waits for that), and deleted only when the broker acknowledged the publish that carried it.
 * Output 1: statistics (on `msg.command = "stats"`); output 2: drop events (full buffer, age, too large).
 */
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { MqttBrokerHandle, StateSettings, stateDir } from '../core/config-handles';
import { DropEvent, DurableQueue, EnqueueResult, NewRecord, QueueFullError } from '../core/durable-queue';
import { filterFields } from '../core/uplink-batch';
import { UplinkSender } from '../core/uplink-sender';
import { UplinkSettings, uplinkOptions } from '../core/uplink-settings';
import { errorBadge, shortText, StatusThrottle } from '../core/status';
import { errorText } from '../core/errors';

interface UplinkDef extends NodeDef, UplinkSettings {
  broker: string;
}

type SendFn = (msg: Array<NodeMessage | null>) => void;
type DoneFn = (err?: Error) => void;

export = function register(RED: NodeAPI): void {
  function EdgeUplink(this: Node, def: UplinkDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = (key: string, vars?: Record<string, unknown>) => RED._(`edge-uplink.${key}`, vars as Record<string, string>);
    const status = new StatusThrottle((b) => node.status(b));
    const broker = RED.nodes.getNode(def.broker) as (Node & MqttBrokerHandle) | null;
    const options = uplinkOptions(def);
    const problems = options.problems.map((key) => t(`errors.${key}`));
    if (!broker) problems.unshift(t('errors.noBroker'));
    else if (broker.problem) problems.unshift(broker.problem);

    let queue: DurableQueue | undefined;
    if (!problems.length) {
      try {
        queue = new DurableQueue(path.join(stateDir(RED.settings as unknown as StateSettings, 'uplink'), `${node.id}.db`), options.queue);
        if (queue.opened.movedAside) node.warn(t('log.movedAside', { file: queue.opened.movedAside, reason: queue.opened.reason ?? '' }));
      } catch (err) {
        problems.push(t('errors.open', { error: errorText(err) }));
      }
    }
    if (problems.length) {
      node.error(t('errors.config', { problems: problems.join('; ') }));
      status.now(errorBadge(t('status.config')));
    }
    const connection = problems.length ? undefined : broker!.connection!;
    const sender = connection && queue ? new UplinkSender(queue, connection, options.sender) : undefined;
    const { allow, deny, groupMs } = options;
    const durability = options.queue.durability;

    const stats = () => {
      const s = queue!.stats();
      const c = sender!.counters;
      return {
        ...s, oldestAgeMs: s.oldestTs === undefined ? 0 : Math.max(0, Date.now() - s.oldestTs),
        publishes: c.publishes, sent: c.sentRecords, wireBytes: c.wireBytes, savedBytes: Math.max(0, c.plainBytes - c.wireBytes),
        tooLarge: c.tooLarge, epoch: queue!.epoch,
      };
    };
    // the dot tells the link (green connected, yellow ring offline, red a full disk); the text the backlog
    const badge = () => {
      const state = queue!.diskFull ? 'diskFull' : connection!.connected ? 'connected' : 'offline';
      return {
        fill: state === 'diskFull' ? 'red' as const : state === 'connected' ? 'green' as const : 'yellow' as const,
        shape: state === 'connected' ? 'dot' as const : 'ring' as const,
        // longer than most badges: the link and the backlog are both worth reading at a glance
        text: shortText(t(`status.${state}`, { count: queue!.queued }), 32),
      };
    };
    const report = (events: DropEvent[]) => {
      for (const e of events) node.send([null, { topic: 'drop', payload: { reason: e.reason, count: e.count, bytes: e.bytes, ids: e.ids } } as NodeMessage]);
    };

    // group commit: messages wait a few ms and are stored in one flushed transaction; done() after it. Without
    // flushes (OS buffered), the messages of one turn of the event loop share a transaction: nothing waits.
    const groupWait = durability === 'group' ? groupMs : durability === 'os' ? 0 : undefined;
    let group: Array<{ record: NewRecord; done: DoneFn }> = [];
    let groupTimer: NodeJS.Timeout | undefined;
    const store = (items: Array<{ record: NewRecord; done: DoneFn }>) => {
      let result: EnqueueResult;
      try {
        result = queue!.enqueue(items.map((i) => i.record));
      } catch (err) {
        if (!(err instanceof QueueFullError)) {
          // e.g. an I/O error: nothing was stored, every sender is told
          for (const item of items) item.done(new Error(t('errors.store', { error: errorText(err) })));
          status.alert(errorBadge(t('status.refused')));
          return;
        }
        result = err.result; // reject: none of them stored
      }
      report(result.drops);
      // drop-newest refuses from the end of the batch, reject all of it
      const refused = new Error(t(queue!.diskFull ? 'errors.diskFull' : 'errors.refused'));
      items.forEach((item, i) => item.done(i < result.accepted ? undefined : refused));
      if (result.refused) status.alert(errorBadge(t('status.refused')));
      sender!.kick();
      status.set(badge);
    };

    let onState: (() => void) | undefined;
    if (connection && sender) {
      connection.register(node.id);
      onState = () => {
        if (connection.connected) sender.linkUp();
        else sender.linkDown();
        status.now(badge());
      };
      connection.on('state', onState);
      onState();
      sender.on('sent', () => status.set(badge));
      sender.on('too-large', (count: number) => report([{ reason: 'too-large', count, ids: [], bytes: 0 }]));
    }
    const { maxAgeMs } = options.queue;
    const ttlTimer = queue && maxAgeMs > 0 ? setInterval(() => {
      try {
        const e = queue!.expire();
        if (e) report([e]);
      } catch (err) {
        node.warn(t('errors.store', { error: errorText(err) }));
      }
    }, Math.min(60_000, Math.max(1000, maxAgeMs / 10))) : undefined;

    node.on('input', (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      if (!queue || !sender) return done(new Error(t('errors.notConfigured')));
      const m = msg as unknown as Record<string, unknown>;
      if (m.command === 'stats') {
        send([{ ...m, payload: stats() } as unknown as NodeMessage, null]);
        return done();
      }
      let body: string | undefined;
      try {
        body = JSON.stringify(filterFields(m.payload, allow, deny));
      } catch (err) {
        return done(new Error(t('errors.payload', { error: errorText(err) })));
      }
      if (body === undefined) return done(new Error(t('errors.payload', { error: 'no payload' })));
      const topic = typeof m.topic === 'string' && m.topic ? m.topic : 'edge';
      const record: NewRecord = { topic, ts: typeof m.ts === 'number' && Number.isFinite(m.ts) ? m.ts : Date.now(), body };
      if (groupWait === undefined) return store([{ record, done }]);
      group.push({ record, done });
      groupTimer ??= setTimeout(() => {
        groupTimer = undefined;
        const batch = group;
        group = [];
        store(batch);
      }, groupWait);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(ttlTimer);
      clearTimeout(groupTimer);
      if (group.length && queue) store(group); // accepted work is stored before the node goes
      group = [];
      sender?.stop();
      if (onState) connection!.off('state', onState);
      status.stop();
      const finish = () => {
        queue?.close();
        done();
      };
      if (connection) connection.deregister(node.id).then(finish, finish);
      else finish();
    });
  }

  RED.nodes.registerType('edge-uplink', EdgeUplink);
};
