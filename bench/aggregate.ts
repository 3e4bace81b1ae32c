/**
 * edge-aggregate figures, each against its baseline in the same run:
 * - a moving mean over the last N samples (10, 1,000, 10,000) against `node-red-node-smooth` doing the same;
 * - a 1 s clock-aligned tumbling mean against `node-red-contrib-aggregator` (messages per CPU second: both
 *   answer on the clock, so the work is what they cost, not how long the second lasts);
 * - every statistic on (percentiles, event time with lateness, rounding) against the mean alone;
 * - the core cost of one sample at window 10,000 against 10, and with late samples;
 * - the data reduction of the demo's pump stream with a 10 s window (computed from sizes).
 */
import { StreamWindows, WindowOptions, roundStats } from '../nodes/core/streams/windowing';
import { StatisticKey } from '../nodes/core/streams/window-stats';
import { Simulator } from '../nodes/core/sensor/simulator';
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node, settled } from './runtime';
import { figure, Figure, sideBySide, Stopwatch } from './report';

const STREAMING: StatisticKey[] = ['count', 'sum', 'mean', 'min', 'max', 'first', 'last', 'stddev', 'rms', 'slope'];
const EVERY_STATISTIC = 'count,sum,mean,min,max,first,last,range,stddev,variance,rms,median,p95,slope,rate';
const MESSAGES = 50_000;
const sample = (i: number) => ({ _msgid: 'bench', topic: 'pump7/vibration', payload: 2 + Math.sin(i / 50) + ((i * 7919) % 13) / 100, ts: 1_700_000_000_000 + i * 100 });

/**
 * Messages/s through one node that answers every sample, the window filled first (both then send one message per
 * sample), timed until every output has been delivered.
 */
async function movingMean(flowNode: object, fill: number): Promise<number> {
  await deploy([{ id: 'n', ...flowNode, wires: [['out'], []] }, { id: 'out', type: 'bench-pass', wires: [] }]);
  const target = node('n');
  for (let i = 0; i < fill; i++) target.receive(sample(i));
  await settled();
  const clock = new Stopwatch();
  for (let i = fill; i < fill + MESSAGES; i++) target.receive(sample(i));
  await settled();
  clock.stop();
  return MESSAGES / clock.seconds;
}

const ours = (n: number, statistics = 'mean', extra: object = {}) => ({ type: 'edge-aggregate', key: 'topic', window: 'count', size: String(n), hop: '1', statistics, output: 'stats', ...extra });
const smooth = (n: number) => ({ type: 'smooth', action: 'mean', count: String(n), round: '', mult: 'multi', reduce: false, property: 'payload' });

/**
 * Messages per CPU second for a clock-aligned 1 s mean: the samples arrive in bursts of 1,000 (as a poll delivers
 * them), and the run ends with the first window closed after the last sample.
 */
async function intervalMean(flowNode: object): Promise<number> {
  await deploy([{ id: 'n', ...flowNode, wires: [['out'], []] }, { id: 'out', type: 'helper', wires: [] }]);
  let closed = 0;
  node('out').on('input', () => { closed++; });
  const target = node('n');
  const cpu = process.cpuUsage();
  for (let i = 0; i < MESSAGES; i += 1000) {
    for (let k = i; k < i + 1000; k++) target.receive(sample(k));
    await settled();
  }
  const before = closed;
  await waitFor(() => closed > before, 'the window after the last sample', 5000);
  const used = process.cpuUsage(cpu);
  return MESSAGES / ((used.user + used.system) / 1e6);
}

/**
 * Core cost of one sample in µs for a sliding count window of length n; `latePercent` of the samples carry a time
 * from before the window's newest (a slow sensor, a clock stepped back).
 */
function perSampleMicros(n: number, statistics: StatisticKey[], latePercent = 0): number {
  const w = new StreamWindows({ kind: 'count', size: n, hop: 1, align: 'clock', time: 'event', lateness: 0, statistics, maxSamples: 1e6 });
  const samples = 200_000;
  for (let i = 0; i < n; i++) w.add(Math.sin(i), i); // fill first: measure the steady state
  const every = latePercent > 0 ? Math.round(100 / latePercent) : 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < samples; i++) w.add(Math.sin(i) + (i % 7), every && i % every === 0 ? n + i - n / 2 : n + i);
  return Number(process.hrtime.bigint() - started) / 1e3 / samples;
}

/**
 * Bytes of the demo pump stream (1 poll/s, 6 points) in and out of the demo's 10 s tumbling window (its statistics,
 * 5 significant digits), over 10 minutes.
 */
function dataReduction(): { in: number; out: number } {
  const sim = new Simulator([
    { name: 'vibration', waveform: 'random-walk', base: 2.2, amplitude: 0.02, periodS: 0, noise: 0.08, drift: 0.05, decimals: 4 },
    { name: 'temperature', waveform: 'sine', base: 61, amplitude: 1.5, periodS: 900, noise: 0.15, drift: 0.3, decimals: 3 },
    { name: 'pressure', waveform: 'random-walk', base: 4.2, amplitude: 0.005, periodS: 0, noise: 0.03, drift: 0, decimals: 4 },
    { name: 'speed', waveform: 'sine', base: 1480, amplitude: 6, periodS: 120, noise: 2, drift: 0, decimals: 1 },
  ], [], 7);
  const options: WindowOptions = { kind: 'tumbling', size: 10_000, align: 'clock', time: 'event', lateness: 0, statistics: ['count', 'mean', 'min', 'max', 'stddev', 'p95'], maxSamples: 1e5 };
  const w = new StreamWindows(options);
  let bytesIn = 0;
  let bytesOut = 0;
  const t0 = Date.UTC(2026, 10, 24, 12);
  for (let s = 0; s < 600; s++) {
    const ts = t0 + s * 1000;
    const payload = { ...sim.sample(ts), running: 1, fault: 0 };
    bytesIn += JSON.stringify({ topic: 'plant1/pump7', payload, ts, quality: 'good' }).length;
    for (const r of w.add(payload, ts).results) {
      const payload = roundStats(r.stats, 5);
      bytesOut += JSON.stringify({ topic: 'plant1/pump7', payload, ts: r.end, window: { start: r.start, end: r.end, count: r.count } }).length;
    }
  }
  return { in: bytesIn, out: bytesOut };
}

const micros = (n: number, statistics: StatisticKey[], latePercent = 0) => async () => perSampleMicros(n, statistics, latePercent);

export async function benchAggregate(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const n of [10, 1000, 10_000]) {
    const r = await sideBySide(() => movingMean(ours(n), n), () => movingMean(smooth(n), n), 5);
    figures.push(figure(`aggregate_moving_mean_${n}_msgs_per_s`, r.ours, 'msgs/s', r.theirs, `node-red-node-smooth, mean over the last ${n}`));
  }
  const tumbling = await sideBySide(
    () => intervalMean({ type: 'edge-aggregate', key: 'topic', window: 'tumbling', size: '1', time: 'processing', statistics: 'mean', output: 'stats' }),
    () => intervalMean({ type: 'aggregator', 'interval-count': '1', intervalCount: 1, intervalUnits: 's', aggregationType: 'mean', submitPerTopic: true, submitIncompleteInterval: true, topic: '' }),
    5,
  );
  figures.push(figure('aggregate_tumbling_1s_mean_msgs_per_cpu_s', tumbling.ours, 'msgs/cpu-s', tumbling.theirs, 'node-red-contrib-aggregator, 1 s mean per topic'));
  const every = await sideBySide(
    () => movingMean(ours(1000, EVERY_STATISTIC, { precision: '5' }), 1000),
    () => movingMean(ours(1000), 1000),
    5,
  );
  figures.push(figure('aggregate_every_statistic_msgs_per_s', every.ours, 'msgs/s', every.theirs, 'edge-aggregate with the mean alone, the same window of 1,000'));

  const streaming = await sideBySide(micros(10_000, STREAMING), micros(10, STREAMING));
  const percentiles = await sideBySide(micros(10_000, [...STREAMING.slice(0, 8), 'median', 'p95']), micros(10, [...STREAMING.slice(0, 8), 'median', 'p95']));
  const late = await sideBySide(micros(1000, STREAMING, 1), micros(1000, STREAMING));
  const bytes = dataReduction();
  figures.push(
    figure('aggregate_us_per_sample_window_10000_vs_10', streaming.ours, 'us/sample', streaming.theirs, 'same ten streaming statistics, window of 10'),
    figure('aggregate_us_per_sample_window_10000_vs_10_with_percentiles', percentiles.ours, 'us/sample', percentiles.theirs, 'same statistics incl. median and p95, window of 10'),
    figure('aggregate_us_per_sample_window_1000_1pct_late_vs_in_order', late.ours, 'us/sample', late.theirs, 'the same samples all in time order'),
    figure('aggregate_bytes_out_vs_in_demo_pump_10s_window', bytes.out, 'bytes per 10 min', bytes.in, 'bytes of the raw 1 Hz stream', 'computed'),
  );
  return figures;
}
