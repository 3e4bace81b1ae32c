/**
 * edge-filter: per-stream cleaning of one value per message (quality, range, outliers, report by exception with
 * heartbeat, rate limit). Output 1: what passes; output 2: what was rejected, with the reason.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { Quality, StreamFilter } from '../core/streams/filter';
import { FilterDefinition, filterSettings } from '../core/streams/filter-settings';
import { StreamTable } from '../core/shared/stream-table';
import { getPath, streamKey } from '../core/shared/message';
import { KeyedError } from '../core/shared/errors';
import { formatValue, shortText } from '../core/shared/status';
import { DoneFn, guarded, nodeKit, SendFn } from '../kit/node-kit';

interface Stream {
  filter: StreamFilter;
  /** the last message that passed or was held: timer-driven outputs are built from it */
  template?: Record<string, unknown>;
}

export = function register(RED: NodeAPI): void {
  function EdgeFilter(this: Node, def: NodeDef & FilterDefinition): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-filter');
    const { t, status } = kit;
    const settings = filterSettings(def);
    const { property, key, filter: options } = settings;
    const usable = settings.problems.length === 0;
    if (!usable) kit.configError(kit.words(settings.problems));
    const counts = { passed: 0, rejected: 0 };
    const streams = new StreamTable<Stream>(Math.max(1, settings.maxStreams), () => ({ filter: new StreamFilter(options) }));

    function output(template: Record<string, unknown>, value: number, quality: Quality | undefined, extra: Record<string, unknown> = {}): NodeMessage {
      const msg = RED.util.cloneMessage(template as NodeMessage) as Record<string, unknown>;
      RED.util.setMessageProperty(msg as NodeMessage, property, value, true);
      if (quality) msg.quality = quality;
      Object.assign(msg, extra);
      return msg as NodeMessage;
    }

    function showPassed(value: number): void {
      counts.passed++;
      status.set(() => ({ fill: 'green', shape: 'dot', text: shortText(`${formatValue(value)} · ${t('status.rejected', { count: counts.rejected })}`) }));
    }

    /** The clock's part: ends of rate-limit intervals and heartbeats. */
    function onTick(): void {
      const now = Date.now();
      for (const [, stream] of streams.entriesList()) {
        const due = stream.filter.due(now);
        if (!due || !stream.template) continue;
        // a heartbeat states the value now; a rate-limited value keeps the time of its measurement
        const extra: Record<string, unknown> = due.heartbeat ? { heartbeat: true, ts: now } : {};
        node.send([output(stream.template, due.value, due.quality, extra), null]);
        showPassed(due.value);
      }
    }
    const timed = options.rate === 'latest' || options.rate === 'average';
    const periods = [timed ? options.rateMs : Infinity, options.heartbeatMs || Infinity];
    const ticker = usable && (timed || options.heartbeatMs > 0) ? setInterval(onTick, Math.min(1000, Math.max(10, Math.min(...periods) / 10))) : undefined;

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!usable) return kit.notConfigured(done);
      const m = msg as unknown as Record<string, unknown>;
      const keyed = streamKey(getPath(m, key));
      if (!keyed.ok) return kit.fail(done, new KeyedError('key', { key, value: keyed.error }), 'status.badInput');
      const stream = streams.get(keyed.value);
      const decision = stream.filter.process(getPath(m, property), m.quality as Quality | undefined, Date.now());
      if (decision.action === 'pass') {
        stream.template = m;
        send([output(m, decision.value, decision.quality, decision.note ? { filtered: decision.note } : {}), null]);
        showPassed(decision.value);
        return done();
      }
      if (decision.action === 'hold') {
        stream.template = m;
        return done();
      }
      counts.rejected++;
      const suppressed = decision.reason === 'deadband' || decision.reason === 'rate';
      if (!suppressed || settings.reportSuppressed) send([null, { ...m, reason: decision.reason, detail: decision.detail } as NodeMessage]);
      if (!suppressed) status.alert({ fill: 'yellow', shape: 'ring', text: shortText(t(`status.${decision.reason}`)) });
      done();
    }

    function onClose(_removed: boolean, done: () => void): void {
      clearInterval(ticker);
      streams.clear();
      status.stop();
      done();
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-filter', EdgeFilter);
};
