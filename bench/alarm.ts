/**
 * edge-alarm: messages/s through one node holding 100 alarms, each message a poll of their 100 values, against a
 * pass-through node taking the same messages. The alarms move as a plant's do: each alarm's value crosses its limit
 * for 5 polls in 200 (about one activation and one clear every two messages across the node), and an operator
 * acknowledges every 20 messages (about one acknowledgement per ten activations). The run counts the transitions it
 * caused, so a node that stopped changing state would show.
 */
import { deploy, node, settled } from './runtime';
import { figure, Figure, sideBySide, Stopwatch } from './report';

const ALARMS = 100;
const MESSAGES = 10_000;

function poll(i: number): Record<string, unknown> {
  if (i % 20 === 19) return { _msgid: 'bench', command: 'ack', who: 'bench' };
  const payload: Record<string, number> = {};
  for (let k = 0; k < ALARMS; k++) payload[`v${k}`] = (i + k * 37) % 200 < 5 ? 90 : 50;
  return { _msgid: 'bench', topic: 'plant', payload };
}
const POLLS = Array.from({ length: MESSAGES }, (_, i) => poll(i));

let transitions = 0;

/** Messages/s, fed as a flow delivers them (a hundred per event-loop turn), until every output was delivered. */
async function rate(flowNode: object): Promise<number> {
  await deploy([{ id: 'n', ...flowNode, wires: [['out'], ['out']] }, { id: 'out', type: 'helper', wires: [] }]);
  let events = 0;
  node('out').on('input', (m: unknown) => { if ((m as { topic?: string }).topic !== 'alarm/command') events++; });
  const target = node('n');
  const clock = new Stopwatch();
  for (let i = 0; i < MESSAGES; i += 100) {
    // each message a copy, as Node-RED hands every node its own
    for (let k = i; k < i + 100; k++) target.receive({ ...POLLS[k] });
    await settled();
  }
  clock.stop();
  if ((flowNode as { type: string }).type === 'edge-alarm') transitions = events;
  return MESSAGES / clock.seconds;
}

export async function benchAlarm(): Promise<Figure[]> {
  const alarms = Array.from({ length: ALARMS }, (_, i) => ({
    id: `TT-${i}`, path: `payload.v${i}`, kind: 'high', limit: '80', deadband: '1', onDelay: '0', offDelay: '0', priority: '500', latching: false, message: '{{id}} {{value}}',
  }));
  const r = await sideBySide(
    () => rate({ type: 'edge-alarm', alarms, persist: false, floodMax: '1000', floodMinutes: '10', chatterMax: '1000', chatterSeconds: '60' }),
    () => rate({ type: 'bench-pass' }),
    5,
  );
  // 100 alarms each activating and clearing once in 200 polls, plus the acknowledgements: far from none
  if (transitions < MESSAGES / 2) throw new Error(`the alarm bench made only ${transitions} transitions`);
  return [
    figure('alarm_msgs_per_s_100_alarms_with_transitions', r.ours, 'msgs/s', r.theirs, `pass-through node, the same polls (${transitions} alarm events in ${MESSAGES} messages)`),
  ];
}
