// Bounded concurrency: never more than the limit in flight, every item once in list order, and a
// failure stops new work and is thrown after what is in flight has settled.
import { describe, expect, it } from 'vitest';
import { forEachConcurrent } from '../../functions/shared/concurrency';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('forEachConcurrent', () => {
  it('starts every item once, in order, with at most `limit` in flight', async () => {
    const started: number[] = [];
    let inFlight = 0;
    let peak = 0;
    await forEachConcurrent(Array.from({ length: 40 }, (_, i) => i), 6, async (i) => {
      started.push(i);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      for (let n = 0; n < (i % 4) + 1; n += 1) await tick();
      inFlight -= 1;
    });
    expect(started).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(peak).toBe(6);
  });

  it('does nothing for no items, and runs one at a time when the limit is below 1', async () => {
    await forEachConcurrent([], 4, () => Promise.reject(new Error('never called')));
    let inFlight = 0;
    let peak = 0;
    await forEachConcurrent([1, 2, 3], 0, async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await tick();
      inFlight -= 1;
    });
    expect(peak).toBe(1);
  });

  it('stops starting work after a failure, lets what is in flight finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = forEachConcurrent(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
      started.push(i);
      await tick();
      if (i === 4) throw new Error('item 4 failed');
      await tick();
      finished.push(i);
    });
    await expect(run).rejects.toThrow('item 4 failed');
    expect(started.length).toBeLessThan(20);
    // Everything started, other than the failure, ran to its end before the error surfaced.
    expect(finished.sort((a, b) => a - b)).toEqual(started.filter((i) => i !== 4).sort((a, b) => a - b));
  });
});
