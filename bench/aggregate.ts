/**
 * edge-aggregate figures: messages/s through the node (sliding window of 1,000 samples, ten statistics) against a
 * pass-through node; the cost per sample at window length 10 against 10,000; and the data reduction of the demo's
 * pump stream with a 10 s window.
 */
import { StreamWindows, WindowOptions, roundStats } from '../nodes/core/streams/windowing';
import { StatisticKey } from '../nodes/core/streams/window-stats';
import { Simulator } from '../nodes/core/sensor/simulator';
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node } from './runtime';
import { figure, Figure, median } from './report';

const TEN: StatisticKey[] = ['count', 'sum', 'mean', 'min', 'max', 'stddev', 'median', 'p95', 'rms', 'slope'];
const STREAMING: StatisticKey[] = ['count', 'sum', 'mean', 'min', 'max', 'first', 'last', 'stddev', 'rms', 'slope'];
const MESSAGES = 50_000;

/** Messages/s through one node: all sent at once, timed until the last output arrives. */
async function throughNode(flowNode: object, expected: number): Promise<number> {
  await deploy([{ id: 'n', ...flowNode, wires: [['out']] }, { id: 'out', type: 'helper', wires: [] }]);
  let received = 0;
  node('out').on('input', () => { received++; });
  const target = node('n');
  const started = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) target.receive({ topic: 'pump', payload: 60 + Math.sin(i / 50), ts: i * 100 });
  await waitFor(() => received >= expected, `${expected} outputs`, 120_000);
  return MESSAGES / (Number(process.hrtime.bigint() - started) / 1e9);
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

export async function benchAggregate(): Promise<Figure[]> {
  const ours: number[] = [];
  const pass: number[] = [];
  const aggregate = { type: 'edge-aggregate', key: 'topic', window: 'count', size: '1000', hop: '1', time: 'event', statistics: TEN.join(','), output: 'stats' };
  for (let r = 0; r < 3; r++) {
    pass.push(await throughNode({ type: 'bench-pass' }, MESSAGES));
    ours.push(await throughNode(aggregate, MESSAGES - 999));
  }
  const small = median([1, 2, 3].map(() => perSampleMicros(10, STREAMING)));
  const large = median([1, 2, 3].map(() => perSampleMicros(10_000, STREAMING)));
  const smallP = median([1, 2, 3].map(() => perSampleMicros(10, TEN)));
  const largeP = median([1, 2, 3].map(() => perSampleMicros(10_000, TEN)));
  const inOrder = median([1, 2, 3].map(() => perSampleMicros(1000, STREAMING)));
  const late = median([1, 2, 3].map(() => perSampleMicros(1000, STREAMING, 1)));
  const bytes = dataReduction();
  return [
    figure('aggregate_msgs_per_s_sliding_1000_ten_stats', median(ours), 'msgs/s', median(pass), 'pass-through Node-RED node'),
    figure('aggregate_us_per_sample_window_10000_vs_10', large, 'us/sample', small, 'same ten streaming statistics, window of 10'),
    figure('aggregate_us_per_sample_window_10000_vs_10_with_percentiles', largeP, 'us/sample', smallP, 'same ten statistics incl. median and p95, window of 10'),
    figure('aggregate_us_per_sample_window_1000_1pct_late_vs_in_order', late, 'us/sample', inOrder, 'the same samples all in time order'),
    figure('aggregate_bytes_out_vs_in_demo_pump_10s_window', bytes.out, 'bytes per 10 min', bytes.in, 'bytes of the raw 1 Hz stream'),
  ];
}
