// The local scheduler on a fake clock: EventBridge instants in real time zones across DST,
// catch-up after an overrun, and a clean stop.
import { describe, expect, it } from 'vitest';
import { scheduleGroups } from '../../functions/rules/groups';
import { ruleSchema } from '../../functions/rules/schema';
import { LocalScheduler, waitForClock } from '../../functions/local/scheduler';
import { ManualClock } from '../../functions/shared/clock';

const rule = (id: string, expression: string, timezone: string) =>
  ruleSchema.parse({ id, mode: 'live', schedule: { expression, timezone }, level: 'campaign', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' } });

function harness(rules: ReturnType<typeof rule>[], startIso: string, runCostMs = 0) {
  const clock = new ManualClock(Date.parse(startIso));
  const fired: string[] = [];
  const skipped: string[] = [];
  const scheduler = new LocalScheduler({
    groups: scheduleGroups(rules),
    clock,
    wait: (until) => {
      if (until > clock.nowMs()) clock.set(until);
      return Promise.resolve();
    },
    runTick: (groups, at) => {
      fired.push(`${new Date(at).toISOString()} ${groups.map((g) => g.ruleIds.join(',')).join(' + ')}`);
      clock.advance(runCostMs);
      return Promise.resolve();
    },
    onSkipped: (group, n) => skipped.push(`${group.ruleIds.join(',')} x${n}`),
  });
  return { clock, fired, skipped, scheduler };
}

describe('LocalScheduler', () => {
  it('fires cron(0 22 * * ? *) in America/New_York at 22:00 local across the March DST change', async () => {
    const { fired, scheduler } = harness([rule('night', 'cron(0 22 * * ? *)', 'America/New_York')], '2026-03-05T12:00:00Z');
    await scheduler.run(new AbortController().signal, { untilMs: Date.parse('2026-03-11T12:00:00Z') });
    expect(fired).toEqual([
      '2026-03-06T03:00:00.000Z night',
      '2026-03-07T03:00:00.000Z night',
      '2026-03-08T03:00:00.000Z night',
      '2026-03-09T02:00:00.000Z night',
      '2026-03-10T02:00:00.000Z night',
      '2026-03-11T02:00:00.000Z night',
    ]);
  });

  it('and across the November change', async () => {
    const { fired, scheduler } = harness([rule('night', 'cron(0 22 * * ? *)', 'America/New_York')], '2026-10-31T12:00:00Z');
    await scheduler.run(new AbortController().signal, { untilMs: Date.parse('2026-11-03T12:00:00Z') });
    expect(fired).toEqual(['2026-11-01T02:00:00.000Z night', '2026-11-02T03:00:00.000Z night', '2026-11-03T03:00:00.000Z night']);
  });

  it('runs the groups due at the same instant as one tick, each group on its own schedule', async () => {
    const { fired, scheduler } = harness([rule('a', 'rate(15 minutes)', 'UTC'), rule('b', 'rate(1 hour)', 'UTC'), rule('c', 'rate(15 minutes)', 'UTC')], '2026-11-24T09:50:00Z');
    await scheduler.run(new AbortController().signal, { untilMs: Date.parse('2026-11-24T10:30:00Z') });
    expect(fired).toEqual(['2026-11-24T10:00:00.000Z b + a,c', '2026-11-24T10:15:00.000Z a,c', '2026-11-24T10:30:00.000Z a,c']);
  });

  it('after an overrun, runs only the latest missed occurrence and reports the skips', async () => {
    const { fired, skipped, scheduler } = harness([rule('fast', 'rate(5 minutes)', 'UTC')], '2026-11-24T09:59:00Z', 17 * 60_000);
    await scheduler.run(new AbortController().signal, { maxRuns: 3 });
    expect(fired).toEqual(['2026-11-24T10:00:00.000Z fast', '2026-11-24T10:15:00.000Z fast', '2026-11-24T10:30:00.000Z fast']);
    expect(skipped).toEqual(['fast x2', 'fast x2']);
  });

  it('stops when aborted, after the current run', async () => {
    const controller = new AbortController();
    let runs = 0;
    const aborting = new LocalScheduler({
      groups: scheduleGroups([rule('fast', 'rate(5 minutes)', 'UTC')]),
      clock: new ManualClock(Date.parse('2026-11-24T09:59:00Z')),
      wait: () => Promise.resolve(),
      runTick: () => {
        runs += 1;
        if (runs === 2) controller.abort();
        return Promise.resolve();
      },
    });
    expect(await aborting.run(controller.signal)).toBe(2);
  });

  it('waits in real time scaled by the clock speed', async () => {
    const start = Date.now();
    const clock = { nowMs: () => 1_000_000 + (Date.now() - start) * 600 };
    const began = Date.now();
    await waitForClock(clock, 600)(1_000_000 + 60_000, new AbortController().signal);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(1_000);
  });
});
