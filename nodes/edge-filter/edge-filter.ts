/**
 * edge-filter: per-stream cleaning of the values of each message (quality, range, outliers, report by exception with
 * heartbeat, rate limit): a number is one stream, each field of an object of values its own. Output 1: what
 * passes; output 2: what was rejected, with the reason (and the field).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { Decision, Quality, RejectReason, StreamFilter } from '../core/streams/filter';
import { fieldValue, filterValue } from '../core/streams/value-filter';
import { FilterDefinition, filterSettings } from '../core/streams/filter-settings';
import { StreamTable, TouchedStreams } from '../core/shared/stream-table';
import { getPath, parsePath, streamKey } from '../core/shared/message';
import { KeyedError } from '../core/shared/errors';
import { formatValue, shortText } from '../core/shared/status';
import { DoneFn, guarded, nodeKit, outputWired, SendFn } from '../kit/node-kit';

interface Stream {
  filter: StreamFilter;
  /** the last message that passed or was held: timer-driven outputs are built from it */
  template?: Record<string, unknown>;
  /** a field of an object payload: timer-driven outputs carry that field alone */
  field?: string;
}

/** Streams of the fields of one message stream: the key's own stream, then a separator no topic uses. */
const fieldKey = (key: string, field: string | undefined) => (field === undefined ? key : `${key}\u001f${field}`);

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

    /**
     * The message with the value that passed: the message itself, changed in place (it is this node's to pass on:
     * Node-RED copies a message it delivers to more than one node), so a value that passes costs no copy.
     */
    function output(msg: Record<string, unknown>, value: unknown, quality: Quality | undefined, extra?: Record<string, unknown>): NodeMessage {
      if (getPath(msg, valuePath) !== value) RED.util.setMessageProperty(msg as NodeMessage, property, value, true);
      if (quality) msg.quality = quality;
      if (extra) Object.assign(msg, extra);
      return msg as NodeMessage;
    }

    // the badge is made from the latest value only when it is shown (at most twice a second)
    let lastPassed: number | string = '';
    const passedBadge = () => ({ fill: 'green', shape: 'dot', text: shortText(`${typeof lastPassed === 'number' ? formatValue(lastPassed) : lastPassed} · ${t('status.rejected', { count: counts.rejected })}`) }) as const;
    function showPassed(value: number | string): void {
      counts.passed++;
      lastPassed = value;
      status.set(passedBadge);
    }

    /** The clock's part: ends of rate-limit intervals and heartbeats. */
    function onTick(): void {
      const now = Date.now();
      for (const [, stream] of streams.entriesList()) {
        const due = stream.filter.due(now);
        if (!due || !stream.template) continue;
        // a heartbeat states the value now; a rate-limited value keeps the time of its measurement
        const extra: Record<string, unknown> = due.heartbeat ? { heartbeat: true, ts: now } : {};
        const value = stream.field === undefined ? due.value
          : { [stream.field]: fieldValue(RED.util.getMessageProperty(stream.template as NodeMessage, property)?.[stream.field], due.value) };
        // the template stays for the next tick: each repeat is a copy of it
        node.send([output(RED.util.cloneMessage(stream.template as NodeMessage) as unknown as Record<string, unknown>, value, due.quality, extra), null]);
        showPassed(due.value);
      }
    }
    const timed = options.rate === 'latest' || options.rate === 'average';
    const periods = [timed ? options.rateMs : Infinity, options.heartbeatMs || Infinity];
    const clocked = usable && (timed || options.heartbeatMs > 0);
    const ticker = clocked ? setInterval(onTick, Math.min(1000, Math.max(10, Math.min(...periods) / 10))) : undefined;
    /** What the clock repeats: a copy taken before the message goes on (a node after this one may change it). */
    const templateOf = (m: Record<string, unknown>) => (clocked ? RED.util.cloneMessage(m as unknown as NodeMessage) as unknown as Record<string, unknown> : undefined);

    // the streams of the message in hand
    let streamKeyNow = '';
    const touched = new TouchedStreams(streams);
    const filterFor = (field: string | undefined): StreamFilter => touched.get(fieldKey(streamKeyNow, field), field).filter;
    // only heartbeats and rate limits read the time
    const needsClock = options.heartbeatMs > 0 || options.rate !== 'none';
    const rejectionsRead = outputWired(def, 1);
    // the paths, parsed once (settings that passed their checks have paths that parse)
    const keyPath = usable ? parsePath(key) : [];
    const valuePath = usable ? parsePath(property) : [];

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!usable) return kit.notConfigured(done);
      const m = msg as unknown as Record<string, unknown>;
      const keyed = streamKey(getPath(m, keyPath));
      if (typeof keyed !== 'string') return kit.fail(done, new KeyedError('key', { key, value: keyed.refused }), 'status.badInput');
      streamKeyNow = keyed;
      touched.reset();
      const outcome = filterValue(getPath(m, valuePath), m.quality as Quality | undefined, needsClock ? Date.now() : 0, filterFor, settings.maxStreams);
      if (outcome.kind === 'single') return onDecision(m, touched.find(undefined), outcome.decision, send, done);
      // what passed or waits for the clock is what a heartbeat or the end of a rate interval repeats
      const kept = outcome.sent.length + outcome.held.length ? templateOf(m) : undefined;
      for (const field of [...outcome.sent, ...outcome.held]) Object.assign(touched.find(field)!, { template: kept, field });
      for (const r of outcome.rejected) onRejected(m, r, send, r.field);
      if (outcome.passed) {
        send([output(m, outcome.passed, outcome.quality), null]);
        showPassed(Object.keys(outcome.passed).join(', '));
      }
      done();
    }

    /** A single value's decision; its stream is absent only for a refusal made before any stream was asked for. */
    function onDecision(m: Record<string, unknown>, stream: Stream | undefined, decision: Decision, send: SendFn, done: DoneFn): void {
      if (decision.action !== 'reject' && stream) stream.template = templateOf(m);
      if (decision.action === 'pass') {
        send([output(m, decision.value, decision.quality, decision.note && { filtered: decision.note }), null]);
        showPassed(decision.value);
      } else if (decision.action === 'reject') {
        onRejected(m, decision, send);
      }
      done();
    }

    /**
     * The words of a rejection are read only when it is reported (a deadband's are not, by default). A rejected
     * field's report is a copy (the message itself may go on with the fields that passed); a rejected value's report
     * is the message itself, which goes nowhere else.
     */
    function onRejected(m: Record<string, unknown>, rejection: { reason: RejectReason; detail: string }, send: SendFn, field?: string): void {
      counts.rejected++;
      const { reason } = rejection;
      const suppressed = reason === 'deadband' || reason === 'rate';
      if (rejectionsRead && (!suppressed || settings.reportSuppressed)) {
        const report = field === undefined ? m : RED.util.cloneMessage(m as unknown as NodeMessage) as unknown as Record<string, unknown>;
        report.reason = reason;
        report.detail = rejection.detail;
        if (field !== undefined) report.field = field;
        send([null, report as NodeMessage]);
      }
      if (!suppressed) status.alert({ fill: 'yellow', shape: 'ring', text: shortText(t(`status.${reason}`)) });
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
