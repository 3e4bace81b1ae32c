/**
 * edge-filter: per-stream cleaning of one value per message (quality, range, outliers, report by exception with
 * heartbeat, rate limit). Output 1: what passes; output 2: what was rejected, with the reason.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { guarded, nodeKit } from '../kit/node-kit';
import { FilterOptions, StreamFilter, validateFilter, Quality } from '../core/streams/filter';
import { StreamTable } from '../core/shared/stream-table';
import { getPath, parsePath, streamKey } from '../core/shared/message';
import { toInt, toNumber } from '../core/shared/fields';
import { errorBadge, shortText, StatusThrottle, formatValue } from '../core/shared/status';
import { errorText } from '../core/shared/errors';

interface FilterDef extends NodeDef {
  key: string;
  property: string;
  quality: string;
  min: string;
  max: string;
  rangeAction: string;
  outlier: string;
  outlierWindow: string;
  outlierThreshold: string;
  stepAfter: string;
  outlierResolution: string;
  deadband: string;
  deadbandValue: string;
  deadbandCompare: string;
  heartbeat: string;
  rate: string;
  rateInterval: string;
  reportSuppressed: boolean;
  maxStreams: string;
}

type SendFn = (msg: Array<NodeMessage | null>) => void;
type DoneFn = (err?: Error) => void;

interface Stream {
  filter: StreamFilter;
  /** the last message that passed or was held: timer-driven outputs are built from it */
  template?: Record<string, unknown>;
}

const optional = (v: string) => (v === undefined || v === null || String(v).trim() === '' ? undefined : toNumber(v, NaN));

function optionsFrom(def: FilterDef): FilterOptions {
  return {
    quality: (['good', 'good-uncertain', 'all'].includes(def.quality) ? def.quality : 'good-uncertain') as FilterOptions['quality'],
    min: optional(def.min),
    max: optional(def.max),
    rangeAction: (['drop', 'clamp', 'mark-bad'].includes(def.rangeAction) ? def.rangeAction : 'drop') as FilterOptions['rangeAction'],
    outlier: (['zscore', 'mad'].includes(def.outlier) ? def.outlier : 'none') as FilterOptions['outlier'],
    outlierWindow: toInt(def.outlierWindow, 30),
    outlierThreshold: toNumber(def.outlierThreshold, 4),
    stepAfter: toInt(def.stepAfter, 3),
    outlierResolution: toNumber(def.outlierResolution, 0),
    deadband: (['absolute', 'percent'].includes(def.deadband) ? def.deadband : 'none') as FilterOptions['deadband'],
    deadbandValue: toNumber(def.deadbandValue, 0),
    deadbandCompare: def.deadbandCompare === 'input' ? 'input' : 'sent',
    heartbeatMs: toNumber(def.heartbeat, 0) * 1000,
    rate: (['first', 'latest', 'average'].includes(def.rate) ? def.rate : 'none') as FilterOptions['rate'],
    rateMs: toNumber(def.rateInterval, 1) * 1000,
  };
}

export = function register(RED: NodeAPI): void {
  function EdgeFilter(this: Node, def: FilterDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-filter');
    const { t, status } = kit;
    const property = (def.property || 'payload').trim();
    const key = (def.key || 'topic').trim();
    let options: FilterOptions | undefined;
    try {
      options = optionsFrom(def);
      const problems = validateFilter(options);
      parsePath(property);
      parsePath(key);
      if (problems.length) throw new Error(problems.join('; '));
    } catch (err) {
      options = undefined;
      node.error(t('errors.config', { problems: errorText(err) }));
      status.now(errorBadge(t('status.config')));
    }
    const counts = { passed: 0, rejected: 0 };
    const streams = new StreamTable<Stream>(Math.max(1, toInt(def.maxStreams, 1000)), () => ({ filter: new StreamFilter(options!) }));
    const reportAll = def.reportSuppressed === true;

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

    // the clock's part: ends of rate-limit intervals and heartbeats
    let ticker: NodeJS.Timeout | undefined;
    if (options && ((options.rate === 'latest' || options.rate === 'average') || options.heartbeatMs > 0)) {
      const periods = [options.rate === 'latest' || options.rate === 'average' ? options.rateMs : Infinity, options.heartbeatMs || Infinity];
      ticker = setInterval(() => {
        const now = Date.now();
        for (const [, stream] of streams.entriesList()) {
          const due = stream.filter.due(now);
          if (!due || !stream.template) continue;
          // a heartbeat states the value now; a rate-limited value keeps the time of its measurement
          const extra: Record<string, unknown> = due.heartbeat ? { heartbeat: true, ts: now } : {};
          node.send([output(stream.template, due.value, due.quality, extra), null]);
          showPassed(due.value);
        }
      }, Math.min(1000, Math.max(10, Math.min(...periods) / 10)));
    }

    node.on('input', guarded(kit, (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      if (!options) return done(new Error(t('errors.notConfigured')));
      const m = msg as unknown as Record<string, unknown>;
      const keyed = streamKey(getPath(m, key));
      if (!keyed.ok) {
        status.alert(errorBadge(t('status.badInput')));
        return done(new Error(t('errors.key', { key, value: keyed.error })));
      }
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
      if (!suppressed || reportAll) send([null, { ...m, reason: decision.reason, detail: decision.detail } as NodeMessage]);
      if (!suppressed) status.alert({ fill: 'yellow', shape: 'ring', text: shortText(t(`status.${decision.reason}`)) });
      done();
    }));

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(ticker);
      streams.clear();
      status.stop();
      done();
    });
  }

  RED.nodes.registerType('edge-filter', EdgeFilter);
};
