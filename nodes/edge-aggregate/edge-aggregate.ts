/**
 * edge-aggregate: windows per stream (count, tumbling, hopping, sliding), statistics per window and field, or a
 * feature vector for ML. Output 1: one message per window; output 2: samples refused (late, window full, too many
 * fields).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { StreamWindows, WindowResult, roundStats } from '../core/streams/windowing';
import { featureVector } from '../core/streams/features';
import { AggregateDefinition, aggregateSettings } from '../core/streams/aggregate-settings';
import { toSample } from '../core/streams/sample';
import { StreamTable } from '../core/shared/stream-table';
import { ExceptionReporter } from '../core/streams/report-by-exception';
import { getPath, streamKey } from '../core/shared/message';
import { errorText, KeyedError } from '../core/shared/errors';
import { shortText } from '../core/shared/status';
import { DoneFn, guarded, nodeKit, outputWired, SendFn } from '../kit/node-kit';

export = function register(RED: NodeAPI): void {
  function EdgeAggregate(this: Node, def: NodeDef & AggregateDefinition): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-aggregate');
    const { t, status } = kit;
    const settings = aggregateSettings(def);
    const usable = settings.problems.length === 0;
    if (!usable) kit.configError(kit.words(settings.problems));
    const counts = { windows: 0, refused: 0, evicted: 0 };
    const streams = new StreamTable<StreamWindows>(Math.max(1, settings.maxStreams), () => new StreamWindows(settings.windows), onEvicted);
    // bounded like the windows; a stream whose reporter was pushed out sends its next window, as a first one
    const exceptions = new StreamTable<ExceptionReporter>(Math.max(1, settings.maxStreams), () => new ExceptionReporter(settings.exception));

    /** A stream pushed out by newer ones: its partial window goes out (or is dropped) as on close. */
    function onEvicted(key: string, w: StreamWindows): void {
      counts.evicted++;
      if (settings.partial === 'flush') emit(key, w.flush(), (m) => node.send(m));
      if (counts.evicted === 1 || counts.evicted % 1000 === 0) node.warn(t('errors.evicted', { max: settings.maxStreams, count: counts.evicted }));
    }

    /** A window's message; one a sample completed carries that sample's id (as Node-RED gives a message made from another). */
    function message(key: string, r: WindowResult, id: string | undefined): NodeMessage {
      const window = r.partial ? { start: r.start, end: r.end, count: r.count, partial: true } : { start: r.start, end: r.end, count: r.count };
      const msg: Record<string, unknown> = { _msgid: id, topic: key, ts: r.end, quality: 'good', window };
      if (settings.features) {
        const f = featureVector(r, settings.windows.statistics, settings.features);
        msg.payload = f.vector;
        msg.features = f.names;
      } else {
        msg.payload = roundStats(r.stats, settings.precision);
      }
      return msg as NodeMessage;
    }

    const windowsBadge = () => ({ fill: 'green', shape: 'dot', text: shortText(t('status.windows', { count: counts.windows, refused: counts.refused })) }) as const;
    /** Sends window results; a window whose features cannot be made is reported and the others still go out. */
    function emit(key: string, results: WindowResult[], send: SendFn, id?: string): Error | undefined {
      if (results.length === 0) return undefined;
      let failure: Error | undefined;
      const out: NodeMessage[] = [];
      for (const r of results) {
        if (!settings.features && !exceptions.get(key).pass(r.stats as Record<string, unknown>, r.end)) continue;
        try {
          out.push(message(key, r, id));
        } catch (err) {
          failure = new Error(t('errors.features', { topic: key, error: errorText(err) }));
        }
      }
      if (out.length) {
        counts.windows += out.length;
        send([out.length === 1 ? out[0] : out, null]);
        status.set(windowsBadge);
      }
      return failure;
    }

    /** Processing-time windows close on the clock, not on the next sample. */
    function onTick(): void {
      const now = Date.now();
      for (const [key, w] of streams.entriesList()) {
        const err = emit(key, w.closeUntil(now), (m) => node.send(m));
        if (err) node.error(err.message, { topic: key });
      }
    }
    const { kind, time, size, hop } = settings.windows;
    const clocked = usable && time === 'processing' && (kind === 'tumbling' || kind === 'hopping');
    const ticker = clocked ? setInterval(onTick, Math.min(1000, Math.max(10, (kind === 'hopping' ? hop! : size) / 10))) : undefined;

    /** msg.flush / msg.reset: only true (this stream) or "all" act; a false or a stray value is not a command. */
    function command(m: Record<string, unknown>, key: string, send: SendFn): Error | undefined {
      const flush = m.flush === true || m.flush === 'all';
      const keys = m.reset !== 'all' && m.flush !== 'all' ? [key] : streams.keys();
      let failure: Error | undefined;
      for (const k of keys) {
        const w = streams.peek(k);
        if (!w) continue;
        if (flush) failure = emit(k, w.flush(), send) ?? failure;
        else w.reset();
      }
      return failure;
    }

    const refusalsRead = outputWired(def, 1);
    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!usable) return kit.notConfigured(done);
      const m = msg as unknown as Record<string, unknown>;
      const keyed = streamKey(getPath(msg, settings.key));
      if (typeof keyed !== 'string') return kit.fail(done, new KeyedError('key', { key: settings.key, value: keyed.refused }), 'status.badInput');
      const key = keyed;
      if (m.flush === true || m.flush === 'all' || m.reset === true || m.reset === 'all') return done(command(m, key, send));
      if (m.quality === 'bad') return done(); // left out of every window (see the help)
      const sample = toSample(msg.payload);
      if (!sample.ok) return kit.fail(done, new KeyedError('input', { topic: key, reason: sample.error }), 'status.badInput');
      const now = Date.now();
      const hasTs = typeof m.ts === 'number' && Number.isFinite(m.ts);
      if (settings.windows.time === 'event' && !hasTs) return kit.fail(done, new KeyedError('noTs', { topic: key }), 'status.badInput');
      const at = hasTs && (settings.windows.kind === 'count' || settings.windows.time === 'event') ? m.ts as number : now;
      const outcome = streams.get(key).add(sample.value, at, now);
      if (outcome.refused) {
        counts.refused++;
        if (refusalsRead) send([null, { ...msg, reason: outcome.refused } as NodeMessage]);
      }
      done(emit(key, outcome.results, send, msg._msgid));
    }

    function onClose(_removed: boolean, done: () => void): void {
      clearInterval(ticker);
      if (settings.partial === 'flush') {
        for (const [key, w] of streams.entriesList()) emit(key, w.flush(), (m) => node.send(m));
      }
      streams.clear();
      exceptions.clear();
      status.stop();
      done();
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-aggregate', EdgeAggregate);
};
