/**
 * edge-filter against core Node-RED's `rbe` (what users install for report by exception): the same stream of
 * readings through an absolute deadband of 0.5 against the last value sent, one topic, in one runtime; and edge-filter
 * with every per-message option on against its simple configuration. Messages/s, higher is better.
 */
import { deploy, node, settled } from './runtime';
import { figure, Figure, sideBySide, Stopwatch } from './report';

const MESSAGES = 200_000;
const FILTER = {
  type: 'edge-filter', key: 'topic', property: 'payload', quality: 'good-uncertain', min: '', max: '', rangeAction: 'drop', outlier: 'none',
  outlierWindow: '30', outlierThreshold: '4', stepAfter: '3', deadband: 'absolute', deadbandValue: '0.5', deadbandCompare: 'sent', heartbeat: '',
  rate: 'none', rateInterval: '1', reportSuppressed: false, maxStreams: '1000',
};
/** every check: quality, range, outlier test, deadband with a heartbeat, rate limit (rejections wired to a node) */
const EVERY_OPTION = {
  ...FILTER, quality: 'good', min: '0', max: '100', rangeAction: 'clamp', outlier: 'zscore', deadband: 'percent', deadbandValue: '0.8',
  heartbeat: '60', rate: 'first', rateInterval: '0.001',
};
/** and every reading it holds back reported on output 2: a message out for every message in */
const REPORTING = { ...EVERY_OPTION, reportSuppressed: true };
const RBE = { type: 'rbe', func: 'deadband', gap: '0.5', start: '', inout: 'out', septopics: true, property: 'payload', topi: 'topic' };

/** a slow wave with noise: about one reading in six moves past the deadband */
const reading = (i: number) => 60 + 3 * Math.sin(i / 200) + ((i * 7919) % 13) / 40;

/**
 * Messages/s through one node: every message as a flow hands it on (with its id), then until every output it sent
 * has been delivered (both nodes decide as the message arrives).
 */
async function through(flowNode: object): Promise<number> {
  const wires = (flowNode as { type: string }).type === 'edge-filter' ? [['out'], ['out']] : [['out']];
  await deploy([{ id: 'n', ...flowNode, wires }, { id: 'out', type: 'bench-pass', wires: [] }]);
  const target = node('n');
  const clock = new Stopwatch();
  for (let i = 0; i < MESSAGES; i++) target.receive({ _msgid: 'bench', topic: 'pump7/temperature', payload: reading(i), ts: i });
  await settled();
  clock.stop();
  return MESSAGES / clock.seconds;
}

export async function benchFilter(): Promise<Figure[]> {
  const vsRbe = await sideBySide(() => through(FILTER), () => through(RBE));
  const options = await sideBySide(() => through(EVERY_OPTION), () => through(FILTER));
  const reporting = await sideBySide(() => through(REPORTING), () => through({ type: 'bench-pass' }));
  return [
    figure('filter_deadband_msgs_per_s', vsRbe.ours, 'msgs/s', vsRbe.theirs, 'core rbe, deadband 0.5 against the last output'),
    figure('filter_every_option_msgs_per_s', options.ours, 'msgs/s', options.theirs, 'edge-filter with the deadband alone'),
    figure('filter_every_option_reporting_suppressed_msgs_per_s', reporting.ours, 'msgs/s', reporting.theirs, 'a pass-through node (a message out for every message in)'),
  ];
}
