/**
 * edge-filter against core Node-RED's `rbe` (what users install for report by exception): the same stream of
 * readings through an absolute deadband of 0.5 against the last value sent, one topic, in one runtime. Runs
 * alternate which node goes first and the median of five is reported (messages/s, higher is better).
 */
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node } from './runtime';
import { figure, Figure, median } from './report';

const MESSAGES = 100_000;
const FILTER = {
  type: 'edge-filter', key: 'topic', property: 'payload', quality: 'good-uncertain', min: '', max: '', rangeAction: 'drop', outlier: 'none',
  outlierWindow: '30', outlierThreshold: '4', stepAfter: '3', deadband: 'absolute', deadbandValue: '0.5', deadbandCompare: 'sent', heartbeat: '',
  rate: 'none', rateInterval: '1', reportSuppressed: false, maxStreams: '1000',
};
const RBE = { type: 'rbe', func: 'deadband', gap: '0.5', start: '', inout: 'out', septopics: true, property: 'payload', topi: 'topic' };

/** a slow wave with noise: about one reading in six moves past the deadband */
const reading = (i: number) => 60 + 3 * Math.sin(i / 200) + ((i * 7919) % 13) / 40;

/** Messages/s through one node until a last reading, far past any deadband, arrives behind the others. */
async function through(flowNode: object): Promise<number> {
  const wires = (flowNode as { type: string }).type === 'edge-filter' ? [['out'], []] : [['out']];
  await deploy([{ id: 'n', ...flowNode, wires }, { id: 'out', type: 'helper', wires: [] }]);
  let last = false;
  node('out').on('input', (m: unknown) => { if ((m as { payload: number }).payload === 1e9) last = true; });
  const target = node('n');
  const started = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) target.receive({ topic: 'pump7/temperature', payload: reading(i), ts: i });
  target.receive({ topic: 'pump7/temperature', payload: 1e9, ts: MESSAGES });
  await waitFor(() => last, 'the last reading', 120_000);
  return (MESSAGES + 1) / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function benchFilter(): Promise<Figure[]> {
  await through(FILTER); // warm up both before measuring
  await through(RBE);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let run = 0; run < 5; run++) {
    if (run % 2 === 0) {
      ours.push(await through(FILTER));
      theirs.push(await through(RBE));
    } else {
      theirs.push(await through(RBE));
      ours.push(await through(FILTER));
    }
  }
  return [figure('filter_deadband_msgs_per_s', median(ours), 'msgs/s', median(theirs), 'core rbe, deadband 0.5 against the last output')];
}
