// The local "rule did not run" warning on the injectable clock: a schedule group with no completed
// run for two of its occurrences (asleep, or failing) is named once per streak, with when it last
// completed; irregular crons count their real occurrences (a weekend is not a missed run).
import { describe, expect, it } from 'vitest';
import { DidNotRunWatch, FleetDidNotRunWatch, overdueLine, rulesServed } from '../../functions/local/overdue';
import { LocalScheduler } from '../../functions/local/scheduler';
import { scheduleGroups } from '../../functions/rules/groups';
import { ruleSchema } from '../../functions/rules/schema';
import { ManualClock } from '../../functions/shared/clock';

const MINUTE = 60_000;
const rule = (id: string, expression: string, timezone = 'UTC') =>
  ruleSchema.parse({ id, mode: 'live', schedule: { expression, timezone }, level: 'campaign', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' } });

describe('DidNotRunWatch', () => {
  it('warns once when two occurrences pass without a completed run (cycles failing), and again only after a new streak', () => {
    const T0 = Date.parse('2026-03-10T15:00:00Z');
    const groups = scheduleGroups([rule('a', 'rate(15 minutes)'), rule('b', 'rate(15 minutes)'), rule('c', 'rate(1 hour)')]);
    const watch = new DidNotRunWatch(groups, T0);
    watch.completed(['a', 'b', 'c'], T0 + MINUTE);
    expect(watch.check(T0 + 16 * MINUTE)).toEqual([]); // the 15:15 run failed: one period, not two
    expect(watch.check(T0 + 30 * MINUTE, T0 + 30 * MINUTE)).toEqual([]); // before the 15:30 tick: it has not been missed yet
    const overdue = watch.check(T0 + 31 * MINUTE); // after it failed too: 15:15 and 15:30 passed without a completed run
    expect(overdue.map((o) => [o.group.expression, o.group.ruleIds, o.sinceMs])).toEqual([['rate(15 minutes)', ['a', 'b'], T0 + MINUTE]]);
    expect(overdueLine(overdue[0] ?? (undefined as never))).toBe('Warning: rules a, b (rate(15 minutes), UTC) did not run: no completed run with its data for 2 periods; last completed 2026-03-10 15:01 UTC.');
    expect(watch.check(T0 + 46 * MINUTE)).toEqual([]); // named once per streak
    watch.completed(['a'], T0 + 47 * MINUTE);
    expect(watch.check(T0 + 62 * MINUTE)).toEqual([]);
    expect(watch.check(T0 + 78 * MINUTE).map((o) => o.group.ruleIds)).toEqual([['a', 'b']]);
    // The hourly group: 16:00 and 17:00 passed since 15:01 without completing.
    expect(watch.check(T0 + 121 * MINUTE).map((o) => o.group.ruleIds)).toEqual([['c']]);
  });

  it('a completed run whose rules had no data (data_unavailable) did not serve them: the group falls overdue', () => {
    const T0 = Date.parse('2026-03-10T15:00:00Z');
    const groups = scheduleGroups([rule('budget-guard', 'rate(10 minutes)'), rule('cpc-guard', 'rate(15 minutes)')]);
    const watch = new DidNotRunWatch(groups, T0);
    // Every run completes; budget-guard's insights read fails each time, cpc-guard reads its data.
    const run = (ruleIds: string[]) => rulesServed({ status: 'completed', rule_ids: ruleIds, per_rule: { 'budget-guard': { data_unavailable: 1 }, 'cpc-guard': { no_match: 14 } } });
    expect(run(['budget-guard', 'cpc-guard'])).toEqual(['cpc-guard']);
    for (const minutes of [10, 15, 20, 30]) watch.completed(run(minutes % 15 === 0 ? ['budget-guard', 'cpc-guard'] : ['budget-guard']), T0 + minutes * MINUTE + MINUTE);
    expect(watch.check(T0 + 31 * MINUTE).map((o) => [o.group.ruleIds, o.everCompleted])).toEqual([[['budget-guard'], false]]);
    expect(rulesServed({ status: 'failed', rule_ids: ['cpc-guard'], per_rule: {} })).toEqual([]);
  });

  it('names a group that never completed since the runner started (the machine slept)', () => {
    const start = Date.parse('2026-11-23T17:00:00Z'); // 12:00 in New York
    const [group] = scheduleGroups([rule('night', 'cron(0 22 * * ? *)', 'America/New_York')]);
    if (!group) throw new Error('no group');
    const watch = new DidNotRunWatch([group], start);
    expect(watch.check(Date.parse('2026-11-25T02:59:00Z'))).toEqual([]); // only the 22:00 of the 23rd passed
    const [overdue] = watch.check(Date.parse('2026-11-25T03:00:00Z'));
    expect(overdue && overdueLine(overdue)).toBe('Warning: rule night (cron(0 22 * * ? *), America/New_York) did not run: no completed run with its data for 2 periods; none completed since this runner started at 2026-11-23 12:00 EST.');
  });

  it('counts the real occurrences of an irregular cron: a weekend is not two missed runs', () => {
    const friday9 = Date.parse('2026-03-06T09:00:00Z');
    const groups = scheduleGroups([rule('weekday', 'cron(0 9 ? * MON-FRI *)')]);
    const watch = new DidNotRunWatch(groups, friday9 - MINUTE);
    watch.completed(['weekday'], friday9 + MINUTE);
    expect(watch.check(Date.parse('2026-03-09T10:00:00Z'))).toEqual([]); // Monday's run missed: one
    expect(watch.check(Date.parse('2026-03-10T09:00:00Z')).map((o) => o.group.ruleIds)).toEqual([['weekday']]); // and Tuesday's
  });

  it('in the scheduler: a process that sleeps through two occurrences is warned at the next tick, before it runs', async () => {
    const start = Date.parse('2026-03-10T15:00:00Z');
    const clock = new ManualClock(start);
    const groups = scheduleGroups([rule('a', 'rate(15 minutes)')]);
    const watch = new DidNotRunWatch(groups, start);
    const lines: string[] = [];
    let ticks = 0;
    const scheduler = new LocalScheduler({
      groups,
      clock,
      // The second wait oversleeps by 40 minutes (a laptop lid closed).
      wait: (until) => {
        clock.set(Math.max(clock.nowMs(), until + (ticks === 1 ? 40 * MINUTE : 0)));
        return Promise.resolve();
      },
      runTick: (due, at) => {
        ticks += 1;
        for (const o of watch.check(clock.nowMs(), at)) lines.push(overdueLine(o));
        watch.completed(due.flatMap((g) => g.ruleIds), clock.nowMs());
        return Promise.resolve();
      },
    });
    await scheduler.run(new AbortController().signal, { maxRuns: 4, fromMs: start });
    expect(lines).toEqual(['Warning: rule a (rate(15 minutes), UTC) did not run: no completed run with its data for 2 periods; last completed 2026-03-10 15:15 UTC.']);
  });
});

describe('FleetDidNotRunWatch (run --orgs)', () => {
  it('watches each org on its own: one org whose cycles fail is named, with its org, and the others\' runs do not hide it', () => {
    const T0 = Date.parse('2026-03-10T15:00:00Z');
    const shared = scheduleGroups([rule('a', 'rate(15 minutes)')]);
    const watch = new FleetDidNotRunWatch([{ orgId: 'acme', groups: shared }, { orgId: 'beta', groups: shared }, { orgId: 'gamma', groups: scheduleGroups([rule('n', 'rate(1 hour)')]) }], T0);
    const lines: string[] = [];
    for (const at of [T0 + 15 * MINUTE, T0 + 30 * MINUTE, T0 + 45 * MINUTE, T0 + 60 * MINUTE]) {
      lines.push(...watch.check(at, at).map((l) => `${new Date(at).toISOString().slice(11, 16)} ${l}`));
      watch.completed('acme', ['a'], at + MINUTE); // acme's runs complete; beta's keep failing
    }
    // Before the 15:45 tick, beta has missed 15:15 and 15:30; named once for the streak; gamma's hourly rule is not late.
    expect(lines).toEqual(['15:45 [beta] Warning: rule a (rate(15 minutes), UTC) did not run: no completed run with its data for 2 periods; none completed since this runner started at 2026-03-10 15:00 UTC.']);
    expect(watch.check(T0 + 61 * MINUTE)).toEqual([]);
    watch.completed('beta', ['a'], T0 + 62 * MINUTE);
    watch.completed('gamma', ['n'], T0 + 62 * MINUTE);
    expect(watch.check(T0 + 75 * MINUTE, T0 + 75 * MINUTE)).toEqual([]);
  });

  it('an org not served for a while (disabled in the orgs file) is not late for the ticks it was not served when enabled again; it is once it misses two of its own', () => {
    const T0 = Date.parse('2026-03-10T15:00:00Z');
    const watch = new FleetDidNotRunWatch([{ orgId: 'acme', groups: scheduleGroups([rule('a', 'rate(15 minutes)')]) }], T0);
    watch.completed('acme', ['a'], T0 + MINUTE);
    // As the fleet does: the warning is checked before each tick, and a tick it turns down (onNotServed) is not the org's.
    const tick = (at: number, served: boolean): string[] => {
      const lines = watch.check(at, at);
      if (!served) watch.notServed('acme', at);
      return lines;
    };
    // Disabled: the 15:15 and 15:30 ticks are not run for it (and it is not named while not served).
    expect(tick(T0 + 15 * MINUTE, false)).toEqual([]);
    expect(tick(T0 + 30 * MINUTE, false)).toEqual([]);
    // Enabled again before the 15:45 tick: 15:15 and 15:30 were not its to run.
    expect(tick(T0 + 45 * MINUTE, true)).toEqual([]);
    // Its 15:45 and 16:00 cycles fail: those it missed, and the line says when it last completed.
    expect(tick(T0 + 60 * MINUTE, true)).toEqual([]);
    expect(tick(T0 + 75 * MINUTE, true)).toEqual(['[acme] Warning: rule a (rate(15 minutes), UTC) did not run: no completed run with its data for 2 periods; last completed 2026-03-10 15:01 UTC.']);
  });
});
