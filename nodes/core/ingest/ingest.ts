/**
 * The cloud side of edge-uplink: one publish in (any format the uplink sends), its records out, each exactly once
 * however often the publish is delivered. Decoding and the envelope's checks are here; what was let through
 * before is the ledger's.
 *
 * The ledger's decision is committed before this returns, and the caller (the MQTT handler) returns before the
 * broker is acknowledged: a publish whose decision did not reach the disk is delivered again and decided again.
 */
import { decodePublish, Envelope } from '../uplink/uplink-batch';
import { IngestLedger, LedgerEvent, LedgerKey, Verdict } from './ingest-ledger';
import { errorText, KeyedError } from '../shared/errors';

/** A record as the flow gets it. */
export interface IngestRecord {
  topic: string;
  payload: unknown;
  ts: number;
  /** the sending gateway, when its uplink names it */
  gateway?: string;
  /** "<epoch>:<seq>": unique per record, for a downstream store to de-duplicate by too */
  id: string;
  epoch: string;
  seq: number;
  /** it came after its id had been given up as a gap */
  late?: boolean;
  /** the ledger could not be written: let through without the duplicate check */
  unchecked?: boolean;
}

/** invalid: records of a publish without an edge-uplink envelope (id "<epoch>:<seq>", topic), left out */
export type IngestEvent = LedgerEvent | { kind: 'invalid'; topic: string; count: number };

/** Records going on, with the events about them; `released` of them had been held for order. */
export interface Released {
  records: IngestRecord[];
  events: IngestEvent[];
  released: number;
}

export interface Received extends Released {
  duplicates: number;
  /** records of this publish held for order */
  held: number;
}

/** The record's stream and id from its envelope; undefined when the envelope is not one edge-uplink writes. */
function recordOf(e: Envelope, key: LedgerKey, now: number): IngestRecord {
  const ts = typeof e.ts === 'number' && Number.isFinite(e.ts) ? e.ts : now;
  return { topic: e.topic, payload: e.payload, ts, ...(key.gateway ? { gateway: key.gateway } : {}), id: e.id, epoch: key.epoch, seq: key.seq };
}

function keyOf(e: Envelope): LedgerKey | undefined {
  if (!e || typeof e !== 'object' || typeof e.id !== 'string' || typeof e.topic !== 'string') return undefined;
  const colon = e.id.lastIndexOf(':');
  const seq = Number(e.id.slice(colon + 1));
  if (colon <= 0 || !Number.isSafeInteger(seq) || seq < 1 || (e.seq !== undefined && e.seq !== seq)) return undefined;
  if (e.gateway !== undefined && typeof e.gateway !== 'string') return undefined;
  return { gateway: e.gateway ?? '', epoch: e.id.slice(0, colon), seq };
}

export class Ingest {
  /** publishes that could not be decoded; envelopes that were not the uplink's */
  undecodable = 0;
  invalid = 0;

  /** holdMs > 0: records are let through in id order per gateway, a record held at most this long for earlier ones */
  constructor(private readonly ledger: IngestLedger, private readonly holdMs = 0) {}

  /**
   * One publish: its new records, in the order they were sent (or, holding for order, what is in order now with
   * what was held for it). Throws a KeyedError when it cannot be decoded.
   */
  receive(mqttTopic: string, payload: Buffer, now = Date.now()): Received {
    let envelopes: Envelope[];
    try {
      envelopes = decodePublish(payload);
      if (!Array.isArray(envelopes)) throw new Error('not a list of records');
    } catch (err) {
      this.undecodable++;
      throw new KeyedError('undecodable', { topic: mqttTopic, bytes: payload.length, error: errorText(err) });
    }
    const good: Array<{ e: Envelope; key: LedgerKey }> = [];
    for (const e of envelopes) {
      const key = keyOf(e);
      if (key) good.push({ e, key });
    }
    const events: IngestEvent[] = [];
    const bad = envelopes.length - good.length;
    if (bad) {
      this.invalid += bad;
      events.push({ kind: 'invalid', topic: mqttTopic, count: bad });
    }
    const record = (i: number, verdict: Verdict) => {
      const r = recordOf(good[i].e, good[i].key, now);
      if (verdict === 'late') r.late = true;
      return r;
    };
    // only a new record is ever held (a late one has no hole below it)
    const hold = this.holdMs > 0 ? (i: number) => JSON.stringify(record(i, 'new')) : undefined;
    const admitted = this.ledger.admit(good.map((g) => g.key), now, hold);
    const verdicts = admitted.verdicts;
    events.push(...admitted.events);
    const records = admitted.ready.map((r) => ('at' in r ? record(r.at, verdicts[r.at]) : (JSON.parse(r.record) as IngestRecord)));
    const accepted = verdicts.filter((v) => v !== 'duplicate').length;
    const released = admitted.ready.filter((r) => 'record' in r).length;
    return { records, events, duplicates: good.length - accepted, held: accepted - (records.length - released), released };
  }

  /** Held records whose wait is over, in order, and the gaps given up below them. */
  releaseDue(now = Date.now()): Released {
    const { ready, events } = this.ledger.releaseDue(now - this.holdMs, now);
    return { records: ready.map((r) => JSON.parse(r) as IngestRecord), events, released: ready.length };
  }

  /**
   * The records of a publish that could not be decided on (the ledger cannot be written): at least once is better
   * than lost. Only a publish that decoded (receive threw after decoding) gets here.
   */
  static unchecked(payload: Buffer, now = Date.now()): IngestRecord[] {
    const out: IngestRecord[] = [];
    for (const e of decodePublish(payload)) {
      const key = keyOf(e);
      if (key) out.push({ ...recordOf(e, key, now), unchecked: true });
    }
    return out;
  }
}
