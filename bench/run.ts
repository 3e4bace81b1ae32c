/** `npm run bench`: every figure with its same-run baseline, one JSON line each. */
import { startRuntime, stopRuntime } from './runtime';
import { benchModbusPoll } from './modbus-poll';
import { benchMqttIngest } from './mqtt-ingest';
import { benchAggregate } from './aggregate';
import { benchFilter } from './filter';
import { benchAlarm } from './alarm';
import { benchInfer } from './infer';
import { benchWatch } from './watch';
import { benchUplink } from './uplink';
import { benchUpdate } from './update';
import { benchMemory } from './memory';
import { benchCost } from './cost';
import { benchIngest } from './ingest';
import { print } from './report';

async function main(): Promise<void> {
  await startRuntime();
  try {
    // `npm run bench -- infer alarm` runs only those
    const all = { modbus: benchModbusPoll, mqtt: benchMqttIngest, filter: benchFilter, aggregate: benchAggregate, alarm: benchAlarm, infer: benchInfer, watch: benchWatch, uplink: benchUplink, update: benchUpdate, memory: benchMemory, cost: benchCost, ingest: benchIngest };
    const chosen = process.argv.slice(2).filter((a) => a in all) as Array<keyof typeof all>;
    for (const bench of (chosen.length ? chosen : (Object.keys(all) as Array<keyof typeof all>)).map((k) => all[k])) {
      for (const f of await bench()) print(f);
    }
  } finally {
    await stopRuntime();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
