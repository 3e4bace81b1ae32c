/**
 * edge-aggregate: windows per stream (count, tumbling, hopping, sliding), statistics per window and field, or a
 * feature vector for ML. Output 1: one message per window; output 2: samples refused (late, window full).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { guarded, nodeKit } from '../kit/node-kit';
import { StreamWindows, WindowKind, WindowOptions, WindowResult, roundStats, validateWindow } from '../core/streams/windowing';
import { StatisticKey, validateStatistics } from '../core/streams/window-stats';
import { featureVector, FeatureOptions, FeatureSource, FeatureLayout } from '../core/streams/features';
import { StreamTable } from '../core/shared/stream-table';
import { getPath, parsePath, streamKey } from '../core/shared/message';
import { toSample } from '../core/streams/sample';
import { toInt, toNumber } from '../core/shared/fields';
import { errorBadge, shortText, StatusThrottle } from '../core/shared/status';
import { errorText } from '../core/shared/errors';

interface AggregateDef extends NodeDef {
  key: string;
  window: string;
  size: string;
  hop: string;
  align: string;
  time: string;
  lateness: string;
  partial: string;
  statistics: string;
  output: string;
  featureSource: string;
  points: string;
  layout: string;
  channels: string;
  maxStreams: string;
  maxSamples: string;
  maxFields: string;
  precision: string;
}

type SendFn = (msg: Array<NodeMessage | NodeMessage[] | null> | NodeMessage) => void;
type DoneFn = (err?: Error) => void;

interface Settings {
  windows: WindowOptions;
  key: string;
  features?: FeatureOptions;
  partial: 'flush' | 'drop';
  maxStreams: number;
  /** significant digits of the statistics sent (0 = all) */
  precision: number;
}

/** From the editor's fields to settings, or a list of problems. */
function settingsFrom(def: AggregateDef, t: (k: string) => string): Settings {
  const kind = (def.window || 'tumbling') as WindowKind;
  const seconds = (v: string, fallback: number) => toNumber(v, fallback) * 1000;
  const statistics = String(def.statistics || 'count,mean,min,max').split(/[,\s]+/).filter(Boolean) as StatisticKey[];
  const windows: WindowOptions = {
    kind,
    size: kind === 'count' ? toNumber(def.size, 10) : seconds(def.size, 10),
    hop: kind === 'count' ? (String(def.hop ?? '').trim() ? toNumber(def.hop, NaN) : undefined)
      : kind === 'hopping' ? seconds(def.hop, NaN) : undefined,
    align: def.align === 'first' ? 'first' : 'clock',
    // count windows need no clock: they take msg.ts when a message has one (for slope and rate)
    time: def.time === 'event' && kind !== 'count' ? 'event' : 'processing',
    lateness: seconds(def.lateness, 0),
    statistics,
    maxSamples: toInt(def.maxSamples, 100_000),
    maxFields: toInt(def.maxFields, 1000),
  };
  const problems = [...validateWindow(windows), ...validateStatistics(statistics)];
  let features: FeatureOptions | undefined;
  if (def.output === 'features') {
    features = {
      source: (def.featureSource || 'stats') as FeatureSource,
      points: toInt(def.points, 0),
      layout: (def.layout === 'feature-major' ? 'feature-major' : 'channel-major') as FeatureLayout,
      channels: String(def.channels ?? '').split(/[,\s]+/).filter(Boolean),
    };
    if (features.source !== 'stats' && !(features.points >= 1 && features.points <= 100_000)) problems.push(t('errors.points'));
    windows.samples = features.source !== 'stats';
  }
  const maxStreams = toInt(def.maxStreams, 1000);
  if (!(maxStreams >= 1)) problems.push(t('errors.maxStreams'));
  const precision = toInt(def.precision, 0);
  if (!(precision >= 0 && precision <= 17)) problems.push(t('errors.precision'));
  const key = (def.key || 'topic').trim();
  parsePath(key);
  if (problems.length) throw new Error(problems.join('; '));
  return { windows, key, features, partial: def.partial === 'drop' ? 'drop' : 'flush', maxStreams, precision };
}

export = function register(RED: NodeAPI): void {
  function EdgeAggregate(this: Node, def: AggregateDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-aggregate');
    const { t, status } = kit;
    let settings: Settings | undefined;
    try {
      settings = settingsFrom(def, t);
    } catch (err) {
      node.error(t('errors.config', { problems: errorText(err) }));
      status.now(errorBadge(t('status.config')));
    }
    const counts = { windows: 0, refused: 0, evicted: 0 };
    const streams = settings && new StreamTable<StreamWindows>(settings.maxStreams, () => new StreamWindows(settings!.windows), (key, w) => {
      // a stream pushed out by newer ones: its partial window goes out (or is dropped) as on close
      counts.evicted++;
      if (settings!.partial === 'flush') emit(key, w.flush(), (m) => node.send(m));
      if (counts.evicted === 1 || counts.evicted % 1000 === 0) node.warn(t('errors.evicted', { max: settings!.maxStreams, count: counts.evicted }));
    });

    function message(key: string, r: WindowResult): NodeMessage {
      const msg: Record<string, unknown> = {
        topic: key,
        ts: r.end,
        quality: 'good',
        window: r.partial ? { start: r.start, end: r.end, count: r.count, partial: true } : { start: r.start, end: r.end, count: r.count },
      };
      if (settings!.features) {
        const f = featureVector(r, settings!.windows.statistics, settings!.features);
        msg.payload = f.vector;
        msg.features = f.names;
      } else {
        msg.payload = roundStats(r.stats, settings!.precision);
      }
      return msg as NodeMessage;
    }

    /** Sends window results; a window whose features cannot be made is reported and the others still go out. */
    function emit(key: string, results: WindowResult[], send: SendFn): Error | undefined {
      let failure: Error | undefined;
      const out: NodeMessage[] = [];
      for (const r of results) {
        try {
          out.push(message(key, r));
        } catch (err) {
          failure = new Error(t('errors.features', { topic: key, error: errorText(err) }));
        }
      }
      if (out.length) {
        counts.windows += out.length;
        send([out, null]);
        status.set(() => ({ fill: 'green', shape: 'dot', text: shortText(t('status.windows', { count: counts.windows, refused: counts.refused })) }));
      }
      return failure;
    }

    // processing-time windows close on the clock, not on the next sample
    let ticker: NodeJS.Timeout | undefined;
    if (settings && settings.windows.time === 'processing' && (settings.windows.kind === 'tumbling' || settings.windows.kind === 'hopping')) {
      const hop = settings.windows.kind === 'hopping' ? settings.windows.hop! : settings.windows.size;
      ticker = setInterval(() => {
        const now = Date.now();
        for (const [key, w] of streams!.entriesList()) {
          const err = emit(key, w.closeUntil(now), (m) => node.send(m));
          if (err) node.error(err.message, { topic: key });
        }
      }, Math.min(1000, Math.max(10, hop / 10)));
    }

    node.on('input', guarded(kit, (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      if (!settings || !streams) return done(new Error(t('errors.notConfigured')));
      const m = msg as NodeMessageInFlow & { reset?: unknown; flush?: unknown; ts?: unknown; quality?: unknown };
      const keyed = streamKey(getPath(msg, settings.key));
      if (!keyed.ok) {
        status.alert(errorBadge(t('status.badInput')));
        return done(new Error(t('errors.key', { key: settings.key, value: keyed.error })));
      }
      const key = keyed.value;
      // only true (this stream) or "all" act: a false or a stray value is not a command
      const flush = m.flush === true || m.flush === 'all';
      const reset = m.reset === true || m.reset === 'all';
      if (flush || reset) {
        const keys = m.reset !== 'all' && m.flush !== 'all' ? [key] : streams.keys();
        let failure: Error | undefined;
        for (const k of keys) {
          const w = streams.peek(k);
          if (!w) continue;
          if (flush) failure = emit(k, w.flush(), send) ?? failure;
          else w.reset();
        }
        return done(failure);
      }
      if (m.quality === 'bad') return done(); // left out of every window (see the help)
      const sample = toSample(msg.payload);
      if (!sample.ok) {
        status.alert(errorBadge(t('status.badInput')));
        return done(new Error(t('errors.input', { topic: key, reason: sample.error })));
      }
      const now = Date.now();
      let at = settings.windows.kind === 'count' && typeof m.ts === 'number' && Number.isFinite(m.ts) ? m.ts : now;
      if (settings.windows.time === 'event') {
        if (typeof m.ts !== 'number' || !Number.isFinite(m.ts)) {
          status.alert(errorBadge(t('status.badInput')));
          return done(new Error(t('errors.noTs', { topic: key })));
        }
        at = m.ts;
      }
      const outcome = streams.get(key).add(sample.value, at, now);
      if (outcome.refused) {
        counts.refused++;
        send([null, { ...msg, reason: outcome.refused } as NodeMessage]);
      }
      done(emit(key, outcome.results, send));
    }));

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(ticker);
      if (streams && settings?.partial === 'flush') {
        for (const [key, w] of streams.entriesList()) emit(key, w.flush(), (m) => node.send(m));
      }
      streams?.clear();
      status.stop();
      done();
    });
  }

  RED.nodes.registerType('edge-aggregate', EdgeAggregate);
};
