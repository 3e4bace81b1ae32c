/**
 * edge-alarm figures: messages/s through one node holding 1,000 alarms (each message a poll of 1,000 values, so
 * 1,000 evaluations per message) against a pass-through node, and the alarm evaluations per second that makes.
 */
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node } from './runtime';
import { figure, Figure, median } from './report';

const ALARMS = 1000;
const MESSAGES = 2000;

async function rate(flowNode: object, outputs: number, wiresTo: 'first' | 'second'): Promise<number> {
  const wires = wiresTo === 'first' ? [['out']] : [[], ['out']];
  await deploy([{ id: 'n', ...flowNode, wires }, { id: 'out', type: 'helper', wires: [] }]);
  let received = 0;
  node('out').on('input', () => { received++; });
  const target = node('n');
  const payload: Record<string, number> = {};
  for (let i = 0; i < ALARMS; i++) payload[`v${i}`] = 50;
  const started = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) target.receive({ topic: 'plant', payload: { ...payload, v0: 50 + (i % 10) } });
  // the pass-through answers every message; the alarm node sends nothing while all stays normal: ask for a summary last
  if (wiresTo === 'second') target.receive({ command: 'summary' });
  await waitFor(() => received >= outputs, `${outputs} outputs`, 300_000);
  return MESSAGES / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function benchAlarm(): Promise<Figure[]> {
  const alarms = Array.from({ length: ALARMS }, (_, i) => ({
    id: `TT-${i}`, path: `payload.v${i}`, kind: 'high', limit: '80', deadband: '1', onDelay: '0', offDelay: '0', priority: '500', latching: false, message: '{{id}}',
  }));
  const ours: number[] = [];
  const pass: number[] = [];
  for (let r = 0; r < 3; r++) {
    pass.push(await rate({ type: 'bench-pass' }, MESSAGES, 'first'));
    ours.push(await rate({ type: 'edge-alarm', alarms, persist: false, floodMax: '10', floodMinutes: '10', chatterMax: '5', chatterSeconds: '60' }, 1, 'second'));
  }
  return [
    figure('alarm_msgs_per_s_1000_alarms', median(ours), 'msgs/s', median(pass), 'pass-through Node-RED node (same messages)'),
    figure('alarm_evaluations_per_s_1000_alarms', median(ours) * ALARMS, 'evaluations/s', median(pass), 'pass-through Node-RED node, messages/s'),
  ];
}
