// The request budget's rolling hour, per key.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../functions/shared/clock';
import { RequestBudget } from '../../functions/thrad/budget';
import { RequestBudgetExceededError } from '../../functions/thrad/errors';

const START = Date.UTC(2026, 10, 24, 9, 0, 0);

describe('RequestBudget', () => {
  it('rolls: a request leaves the window exactly one hour after it was made', () => {
    const clock = new ManualClock(START);
    const budget = new RequestBudget(clock, { requestsPerHour: 3 });
    budget.take('key_a', 'general');
    clock.advance(10 * 60_000);
    budget.take('key_a', 'general');
    budget.take('key_a', 'general');
    expect(() => budget.take('key_a', 'general')).toThrow(RequestBudgetExceededError);
    clock.set(START + 3_600_000 - 1);
    expect(budget.snapshot('key_a')).toMatchObject({ used: 3, remaining: 0, oldestExpiresAtMs: START + 3_600_000 });
    clock.set(START + 3_600_000);
    expect(budget.snapshot('key_a')).toMatchObject({ used: 2, remaining: 1 });
    budget.take('key_a', 'general');
  });

  it('keeps a separate budget per key (rotation gives the new key its own)', () => {
    const budget = new RequestBudget(new ManualClock(START), { requestsPerHour: 1 });
    budget.take('key_old', 'general');
    expect(() => budget.take('key_old', 'general')).toThrow(RequestBudgetExceededError);
    budget.take('key_new', 'general');
  });

  it('counts requests made elsewhere, and says when capacity for the need returns', () => {
    const clock = new ManualClock(START);
    const budget = new RequestBudget(clock, { requestsPerHour: 4 });
    budget.recordExternal('key_a', [START - 3_600_000, START - 50 * 60_000, START - 20 * 60_000, START - 5 * 60_000]);
    expect(budget.snapshot('key_a').used).toBe(3);
    try {
      budget.ensure('key_a', 3);
      expect.unreachable();
    } catch (error) {
      // 3 used + 3 needed = 6 > 4: the two oldest must expire; the second oldest leaves at START+40min
      expect(error).toMatchObject({ used: 3, limit: 4, needed: 3, availableAtMs: START + 40 * 60_000 });
    }
  });

  it('holds back a reserve from planned work', () => {
    const budget = new RequestBudget(new ManualClock(START), { requestsPerHour: 10, reserve: 4 });
    expect(() => budget.ensure('k', 7)).toThrow(/7 more needed/);
    budget.ensure('k', 6);
  });
});
