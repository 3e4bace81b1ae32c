/**
 * edge-ingest's cost of exactly once: publishes of 60 statistics records (the column layout, as the demo's uplink
 * sends them) from 100 gateways, decided by the ledger (decode, one flushed transaction per publish), against the
 * same publishes only decoded (what a consumer without de-duplication does). Alternated, median of 5.
 */
import path from 'node:path';
import { Ingest } from '../nodes/core/ingest/ingest';
import { IngestLedger } from '../nodes/core/ingest/ingest-ledger';
import { decodePublish, planPublishes } from '../nodes/core/uplink/uplink-batch';
import type { StoredRecord } from '../nodes/core/uplink/durable-queue';
import { figure, Figure, median } from './report';
import { scratchDir } from './runtime';

const GATEWAYS = 100;
const PER_GATEWAY = 10;
const RECORDS = 60;

function publishes(): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < PER_GATEWAY; p++) {
    for (let g = 0; g < GATEWAYS; g++) {
      const records: StoredRecord[] = Array.from({ length: RECORDS }, (_, i) => {
        const id = p * RECORDS + i + 1;
        const stats = (base: number) => ({ count: 600, mean: base + (id % 7) / 10, min: base - 1, max: base + 1, stddev: 0.3 });
        return { id, topic: 'plant1/pump7', ts: 1_700_000_000_000 + id * 60_000, enqueued: 0, bytes: 0,
          body: JSON.stringify({ vibration: stats(2.5), temperature: stats(61), pressure: stats(4.1), speed: stats(1480) }) };
      });
      out.push(planPublishes(records, `epoch-${g}`, () => `edge/gw-${g}`, { maxRecords: RECORDS, maxPacketBytes: 131_072, format: 'columns', gzip: false, gateway: `gw-${g}` }).publishes[0].payload);
    }
  }
  return out;
}

export async function benchIngest(): Promise<Figure[]> {
  const all = publishes();
  const dir = scratchDir('ingest');
  const ours: number[] = [];
  const decodeOnly: number[] = [];
  for (let run = 0; run < 5; run++) {
    // a fresh ledger each run: every record is new, as in steady operation
    const ledger = new IngestLedger(path.join(dir, `run-${run}.db`), { window: 100_000 });
    const ingest = new Ingest(ledger);
    let t = process.hrtime.bigint();
    let n = 0;
    for (const p of all) n += ingest.receive('edge/gw', p).records.length;
    ours.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    ledger.close();
    t = process.hrtime.bigint();
    n = 0;
    for (const p of all) n += decodePublish(p).length;
    decodeOnly.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  const perPublish = (rate: number) => rate / RECORDS;
  return [
    figure('edge-ingest records/s, exactly once (ledger flushed per publish of 60)', median(ours), 'records/s', median(decodeOnly), 'decode only, no de-duplication'),
    figure('edge-ingest publishes/s, exactly once', perPublish(median(ours)), 'publishes/s', perPublish(median(decodeOnly)), 'decode only, no de-duplication'),
  ];
}
