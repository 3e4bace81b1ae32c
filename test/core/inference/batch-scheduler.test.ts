import assert from 'node:assert/strict';
import { BatchScheduler, OverflowError, OverflowPolicy, SchedulerOptions } from '../../../nodes/core/inference/batch-scheduler';
import { delay } from '../../../scripts/lib/net-util';

/** A resource whose runs finish only when the test says so. */
function gated() {
  const runs: Array<{ items: number[]; finish: (fail?: Error) => void }> = [];
  let active = 0;
  let maxActive = 0;
  const run = (items: number[]) => new Promise<number[]>((resolve, reject) => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs.push({ items, finish: (fail) => {
      active--;
      if (fail) reject(fail);
      else resolve(items.map((i) => i * 10));
    } });
  });
  return { runs, run, get maxActive() { return maxActive; } };
}

function scheduler(run: (items: number[]) => Promise<number[]>, o: Partial<SchedulerOptions<number, number>> = {}) {
  return new BatchScheduler<number, number>({
    maxBatch: 1, maxWaitMs: 0, concurrency: 1, queueLimit: 100, overflow: 'drop-oldest', batchKey: () => 'k', run, ...o,
  });
}

describe('core: batch scheduler', () => {
  it('never runs more than the concurrency limit and releases results in submission order', async () => {
    const g = gated();
    const s = scheduler(g.run, { concurrency: 2 });
    const order: number[] = [];
    const all = [1, 2, 3, 4, 5].map((i) => s.submit(i).then((v) => order.push(v)));
    await delay(5);
    assert.equal(g.runs.length, 2);
    g.runs[1].finish(); // the second finishes first...
    await delay(5);
    assert.deepEqual(order, [], '...but waits for the first');
    g.runs[0].finish();
    await delay(5);
    assert.deepEqual(order, [10, 20]);
    for (let i = 2; i < 5; i++) {
      await delay(2);
      g.runs[i].finish();
    }
    await Promise.all(all);
    assert.deepEqual(order, [10, 20, 30, 40, 50]);
    assert.equal(g.maxActive, 2);
    assert.deepEqual(s.counters, { submitted: 5, completed: 5, failed: 0, dropped: 0, batches: 5, batchedItems: 0, queued: 0, inFlight: 0 });
  });

  for (const [policy, survivors] of [['drop-oldest', [1, 4, 5]], ['drop-newest', [1, 2, 3]], ['error', [1, 2, 3]]] as Array<[OverflowPolicy, number[]]>) {
    it(`bounds the queue: ${policy}`, async () => {
      const g = gated();
      const s = scheduler(g.run, { queueLimit: 2, overflow: policy });
      const settled: Array<[number, string]> = [];
      const all = [1, 2, 3, 4, 5].map((i) => s.submit(i).then((v) => settled.push([i, `ok ${v}`]), (e: OverflowError) => settled.push([i, e.policy])));
      await delay(5);
      assert.equal(s.counters.queued, 2, 'never more than the limit waiting');
      while (g.runs.some((r) => r)) {
        const next = g.runs.shift()!;
        next.finish();
        await delay(2);
      }
      await Promise.all(all);
      assert.deepEqual(settled.filter(([, r]) => r.startsWith('ok')).map(([i]) => i), survivors);
      assert.deepEqual(settled.map(([i]) => i), [1, 2, 3, 4, 5], 'refusals are released in order too');
      assert.equal(s.counters.dropped, 2);
      assert.equal(settled.filter(([, r]) => r === policy).length, 2);
    });
  }

  it('gathers a batch up to N items, or what came within the wait', async () => {
    const g = gated();
    const s = scheduler(g.run, { maxBatch: 3, maxWaitMs: 30, queueLimit: 10 });
    const first = [1, 2, 3, 4].map((i) => s.submit(i));
    await delay(5);
    assert.deepEqual(g.runs.map((r) => r.items), [[1, 2, 3]], 'a full batch goes at once');
    g.runs[0].finish();
    await delay(5);
    assert.equal(g.runs.length, 1, 'the fourth waits for company');
    await delay(40);
    assert.deepEqual(g.runs.map((r) => r.items), [[1, 2, 3], [4]], '...until the wait is over');
    g.runs[1].finish();
    assert.deepEqual(await Promise.all(first), [10, 20, 30, 40]);
    assert.equal(s.counters.batchedItems, 3);
  });

  it('never mixes keys in a batch, and a failed run fails exactly its own items', async () => {
    const g = gated();
    const s = new BatchScheduler<number, number>({
      maxBatch: 10, maxWaitMs: 5, concurrency: 1, queueLimit: 10, overflow: 'error', batchKey: (i) => (i % 2 ? 'odd' : 'even'), run: g.run,
    });
    const results = [1, 3, 2, 4, 5].map((i) => s.submit(i).then((v) => `ok ${v}`, (e: Error) => `failed: ${e.message}`));
    await delay(20);
    assert.deepEqual(g.runs.map((r) => r.items), [[1, 3]]);
    g.runs[0].finish(new Error('boom'));
    await delay(20);
    assert.deepEqual(g.runs.map((r) => r.items), [[1, 3], [2, 4]]);
    g.runs[1].finish();
    await delay(20);
    g.runs[2].finish();
    assert.deepEqual(await Promise.all(results), ['failed: boom', 'failed: boom', 'ok 20', 'ok 40', 'ok 50']);
    assert.deepEqual([s.counters.failed, s.counters.completed], [2, 3]);
  });

  it('holds memory flat under a flood: 100,000 submissions against a slow resource', async () => {
    let running = 0;
    const s = scheduler(async (items) => {
      running++;
      await delay(1);
      running--;
      return items;
    }, { queueLimit: 50, overflow: 'drop-oldest' });
    const all: Array<Promise<unknown>> = [];
    let maxQueued = 0;
    for (let i = 0; i < 100_000; i++) {
      all.push(s.submit(i).catch(() => undefined));
      maxQueued = Math.max(maxQueued, s.counters.queued);
    }
    await Promise.all(all);
    const c = s.counters;
    assert.equal(maxQueued, 50);
    assert.equal(c.completed + c.dropped, 100_000, 'every message is accounted for');
    assert.equal(running, 0);
  });
});
