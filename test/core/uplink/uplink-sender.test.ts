/**
 * The uplink's drain loop against a real SQLite queue and a link of the test's making (the broker is outside what
 * these claims are about; the node tests use real brokers): acknowledged records go, failed publishes come back in
 * order, a refusal is set aside, and the pace is not a resend.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DropEvent, DurableQueue } from '../../../nodes/core/uplink/durable-queue';
import { decodePublish } from '../../../nodes/core/uplink/uplink-batch';
import { PublishLink, SenderOptions, UplinkSender } from '../../../nodes/core/uplink/uplink-sender';
import { TopicError } from '../../../nodes/core/connections/mqtt-connection';
import { waitFor } from '../../../scripts/lib/net-util';

class TestLink implements PublishLink {
  connected = true;
  published: Array<{ topic: string; seqs: number[] }> = [];
  /** what the next publishes answer: ok, a plain failure, or a refusal */
  answer: (topic: string) => Error | undefined = () => undefined;
  publish(topic: string, payload: Buffer): Promise<void> {
    this.published.push({ topic, seqs: decodePublish(payload).map((e) => e.seq) });
    const err = this.answer(topic);
    return err ? Promise.reject(err) : Promise.resolve();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-sender-'));
let n = 0;
function setup(o: Partial<SenderOptions> = {}) {
  const queue = new DurableQueue(path.join(dir, `s${n++}.db`), { durability: 'os', maxBytes: 0, maxAgeMs: 0, onFull: 'drop-oldest' });
  const link = new TestLink();
  const sender = new UplinkSender(queue, link, {
    batch: { maxRecords: 10, maxPacketBytes: 65_536, format: 'json', gzip: false }, batchWaitMs: 0, topic: (r) => `cloud/${r.topic}`,
    qos: 1, retain: false, maxInFlight: 4, recordsPerSecond: 0, bytesPerSecond: 0, ...o,
  });
  const drops: DropEvent[] = [];
  sender.on('drop', (e: DropEvent) => drops.push(e));
  return { queue, link, sender, drops };
}
const records = (count: number, topic = 't') => Array.from({ length: count }, (_, i) => ({ topic, ts: i, body: String(i) }));

describe('core: uplink sender', () => {
  it('sends in batches and deletes only what was acknowledged', async () => {
    const { queue, link, sender } = setup();
    queue.enqueue(records(25));
    sender.kick();
    await waitFor(() => queue.queued === 0, 'all acknowledged');
    assert.deepEqual(link.published.map((p) => p.seqs.length), [10, 10, 5]);
    assert.deepEqual(link.published.flatMap((p) => p.seqs), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.deepEqual([sender.counters.publishes, sender.counters.sentRecords, queue.stats().resent], [3, 25, 0]);
    sender.stop();
    queue.close();
  });

  it('a store that fails under the drain is reported and tried again, never thrown out of the timer', async () => {
    const { queue, link, sender } = setup();
    queue.enqueue(records(5));
    const failures: Error[] = [];
    sender.on('store-failed', (err: Error) => failures.push(err));
    // the database goes away under the sender (an I/O error would do the same): the page cannot be read
    queue.close();
    sender.kick();
    await waitFor(() => failures.length === 1, 'the failure reported');
    assert.match(failures[0].message, /database connection is not open/);
    assert.equal(link.published.length, 0);
    sender.stop();
  });

  it('a partial batch waits for more; a batch that fills meanwhile goes at once, not at the end of the wait', async () => {
    const { queue, link, sender } = setup({ batchWaitMs: 60_000 });
    queue.enqueue(records(3));
    sender.kick();
    await new Promise((r) => setImmediate(r));
    assert.equal(link.published.length, 0, 'three records wait for a fuller batch');
    queue.enqueue(records(7));
    sender.kick();
    await waitFor(() => queue.queued === 0, 'the full batch acknowledged long before the minute of waiting');
    assert.deepEqual(link.published.map((p) => p.seqs.length), [10]);
    sender.stop();
    queue.close();
  });

  it('a failed publish goes again, in order, and counts as resent', async () => {
    const { queue, link, sender } = setup({ maxInFlight: 1 });
    let failures = 1;
    link.answer = () => (failures-- > 0 ? new Error('connection lost') : undefined);
    queue.enqueue(records(5));
    sender.kick();
    await waitFor(() => queue.queued === 0, 'delivered after the failure');
    assert.deepEqual(link.published.map((p) => p.seqs), [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]);
    assert.equal(queue.stats().resent, 5);
    sender.stop();
    queue.close();
  });

  it('a refused publish is set aside with the reason; the records behind it are sent', async () => {
    const { queue, link, sender, drops } = setup({ maxInFlight: 1 });
    const notAuthorized = Object.assign(new Error('Publish error: Not authorized'), { code: 0x87 });
    link.answer = (topic) => (topic === 'cloud/secret' ? notAuthorized : topic === 'cloud/bad' ? new TopicError('topicWildcard') : undefined);
    queue.enqueue([...records(3, 'secret'), ...records(2, 'bad'), ...records(4, 'open')]);
    sender.kick();
    await waitFor(() => queue.queued === 0, 'nothing left');
    assert.deepEqual(drops.map((d) => [d.reason, d.count, d.error]), [['refused', 3, 'Publish error: Not authorized'], ['refused', 2, 'the topic cannot be published to (topicWildcard)']]);
    assert.deepEqual(queue.stats().dropped.refused, 5);
    assert.equal(queue.stats().acked, 4);
    assert.equal(link.published.filter((p) => p.topic === 'cloud/secret').length, 1, 'not retried');
    sender.stop();
    queue.close();
  });

  it('records held back by the pace are not resends', async () => {
    const { queue, sender } = setup({ recordsPerSecond: 200, batch: { maxRecords: 20, maxPacketBytes: 65_536, format: 'json', gzip: false } });
    queue.enqueue(records(300));
    sender.kick();
    await waitFor(() => queue.queued === 0, 'the paced backlog delivered', 20_000);
    assert.equal(queue.stats().resent, 0);
    sender.stop();
    queue.close();
  });
});
