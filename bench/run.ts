/** `npm run bench`: every figure with its same-run baseline, one JSON line each. */
import { startRuntime, stopRuntime } from './runtime';
import { benchModbusPoll } from './modbus-poll';
import { benchMqttIngest } from './mqtt-ingest';
import { benchAggregate } from './aggregate';
import { benchAlarm } from './alarm';
import { print } from './report';

async function main(): Promise<void> {
  await startRuntime();
  try {
    for (const bench of [benchModbusPoll, benchMqttIngest, benchAggregate, benchAlarm]) {
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
