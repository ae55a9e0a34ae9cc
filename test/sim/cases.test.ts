// The sequences that made the old engine take a wrong money action across runs, schedules and
// people (issue "Decisions that hold over time"), each run through the simulator (sandbox, real
// client, dynalite) and asserted from what the sandbox ended with and what the trail says.
import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../../functions/rules/schema';
import { exampleRules } from '../helpers/engine';
import { minutesLater, outcomesOf, simFixture, simulate } from '../helpers/sim';

const C = {
  nearCap: 'f1000000-0000-4000-8000-000000000001',
  launch: 'f1000000-0000-4000-8000-000000000002',
  daypartReview: 'f1000000-0000-4000-8000-000000000003',
  daypartFresh: 'f1000000-0000-4000-8000-000000000004',
  expensive: 'f1000000-0000-4000-8000-000000000005',
  moved: 'f1000000-0000-4000-8000-000000000006',
  delivered: 'f1000000-0000-4000-8000-000000000007',
  daypartAds: 'f1000000-0000-4000-8000-000000000008',
} as const;

const ny = (expression: string) => ({ expression, timezone: 'America/New_York' });
const budgetGuard: RuleInput = { id: 'budget-guard', mode: 'live', schedule: ny('rate(10 minutes)'), level: 'campaign', when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'budget_spent_fraction', op: 'gte', value: 0.9 }] }, then: { action: 'pause' }, guards: { cooldown: '6h' }, priority: 20 };

describe('decisions that hold over time', () => {
  it('1. priority holds across schedules: a priority-5 re-activation never reverses the priority-20 budget guard', async () => {
    const reactivate: RuleInput = { id: 'reactivate-cheap', mode: 'live', schedule: ny('rate(15 minutes)'), level: 'campaign', when: { all: [{ field: 'status', op: 'eq', value: 'paused' }, { metric: 'cpc', window: 'last_3_days', op: 'lt', value: 1.5 }] }, then: { action: 'activate' }, guards: { min_data: { clicks: 10 } }, priority: 5 };
    const fixture = simFixture([{ id: C.nearCap, name: 'Near Cap', budgetUsd: 1_000, spentUsd: 880, days: 10, cpcUsd: 1, impressionsPerHour: 2_000 }]);
    const result = await simulate(fixture, [budgetGuard, reactivate], 180);
    expect(outcomesOf(result, 'budget-guard', C.nearCap)).toContain('acted');
    const refused = result.decisions.filter((d) => d.rule_id === 'reactivate-cheap' && d.entity_id === C.nearCap);
    expect(refused.length).toBeGreaterThan(0);
    for (const d of refused) {
      expect(d.outcome).toBe('skipped_conflict');
      expect(d.reason).toMatch(/^held paused by budget-guard \(priority 20\)/);
      expect(d.holder).toMatchObject({ kind: 'rule', rule_id: 'budget-guard', priority: 20 });
    }
    expect(result.final.campaigns.find((c) => c.id === C.nearCap)?.status).toBe('paused');
  });

  it('2. activate-approved never re-activates a campaign a person activated and paused', async () => {
    const fixture = simFixture([{ id: C.launch, name: 'Approved Launch', status: 'paused', startInSeconds: 2 * 86_400, createdDaysAgo: 1 }]);
    const events = [
      { at: minutesLater(1), do: 'activate' as const, level: 'campaign' as const, id: C.launch },
      { at: minutesLater(2), do: 'pause' as const, level: 'campaign' as const, id: C.launch },
    ];
    const result = await simulate(fixture, exampleRules(), 60, events);
    expect(result.events.every((e) => e.ok)).toBe(true);
    expect(outcomesOf(result, 'activate-approved', C.launch)).not.toContain('acted');
    expect(outcomesOf(result, 'activate-approved', C.launch)[0]).toBe('skipped_manual_override');
    expect(result.final.campaigns.find((c) => c.id === C.launch)?.status).toBe('paused');
  });

  it('2b. the same when a run saw it active in between: a person paused it', async () => {
    const fixture = simFixture([{ id: C.launch, name: 'Approved Launch', status: 'paused', startInSeconds: 2 * 86_400, createdDaysAgo: 1 }]);
    const events = [
      { at: minutesLater(1), do: 'activate' as const, level: 'campaign' as const, id: C.launch },
      { at: minutesLater(7), do: 'pause' as const, level: 'campaign' as const, id: C.launch },
    ];
    const result = await simulate(fixture, exampleRules(), 60, events);
    expect(outcomesOf(result, 'activate-approved', C.launch)).not.toContain('acted');
    expect(result.final.campaigns.find((c) => c.id === C.launch)?.status).toBe('paused');
  });

  it('3A. a [daypart] campaign approved at 22:01 is not launched for the night; the 07:00 resume launches it', async () => {
    const fixture = simFixture([{ id: C.daypartReview, name: 'Lanterns [daypart]', status: 'paused', review_status: 'in_review', createdDaysAgo: 0.1, impressionsPerHour: 500 }]);
    const events = [{ at: minutesLater(11), do: 'review' as const, id: C.daypartReview, review_status: 'approved' as const }];
    const activeAt: string[] = [];
    const result = await simulate(fixture, exampleRules(), 9 * 60 + 40, events, ({ atMs, world }) => {
      if (world.campaigns.get(C.daypartReview)?.status === 'active') activeAt.push(new Date(atMs).toISOString());
    });
    expect(outcomesOf(result, 'activate-approved', C.daypartReview)).not.toContain('acted');
    expect(result.decisions.find((d) => d.rule_id === 'activate-approved' && d.entity_id === C.daypartReview)?.reason).toMatch(/held paused by daypart-pause/);
    expect(outcomesOf(result, 'daypart-resume', C.daypartReview)).toEqual(['acted']);
    // Never active before 07:00 New York time (12:00Z).
    expect(activeAt.every((t) => t >= '2026-11-20T12:00:00.000Z')).toBe(true);
    expect(activeAt.length).toBeGreaterThan(0);
  });

  it('3B. an active [daypart] campaign that never delivered is paused at 22:00 and not re-activated at 22:05', async () => {
    const fixture = simFixture([{ id: C.daypartFresh, name: 'Headlamps [daypart]', status: 'active', startInSeconds: 2 * 86_400, createdDaysAgo: 1 }]);
    const result = await simulate(fixture, exampleRules(), 4 * 60);
    expect(outcomesOf(result, 'daypart-pause', C.daypartFresh)).toEqual(['acted']);
    expect(outcomesOf(result, 'activate-approved', C.daypartFresh)).not.toContain('acted');
    expect(result.final.campaigns.find((c) => c.id === C.daypartFresh)?.status).toBe('paused');
  });

  it('4. undo of an old decision never reverses newer changes', async () => {
    const cpcGuard: RuleInput = { id: 'cpc-guard', mode: 'live', schedule: ny('rate(15 minutes)'), level: 'campaign', when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 100 }] }, then: { action: 'pause' }, guards: { cooldown: '6h' }, priority: 10 };
    // cpc-guard pauses at 22:00; a person re-activates at 22:15; budget-guard pauses at 23:00 (its
    // first read of a complete hour over 90%); then someone undoes the 22:00 pause.
    const fixture = simFixture([{ id: C.expensive, name: 'Pricey Packs', budgetUsd: 1_000, spentUsd: 850, days: 5, cpcUsd: 3, impressionsPerHour: 2_000 }]);
    const events = [
      { at: minutesLater(25), do: 'activate' as const, level: 'campaign' as const, id: C.expensive },
      { at: minutesLater(80), do: 'undo' as const, rule: 'cpc-guard', entity: C.expensive },
    ];
    const result = await simulate(fixture, [cpcGuard, budgetGuard], 90, events);
    expect(outcomesOf(result, 'cpc-guard', C.expensive)[0]).toBe('acted');
    expect(outcomesOf(result, 'budget-guard', C.expensive)).toEqual(['acted']);
    const undo = result.events.find((e) => e.event.do === 'undo');
    expect(undo?.ok).toBe(false);
    expect(undo?.detail).toMatch(/^refused: campaign "Pricey Packs" is paused as cpc-guard left it at .*, but it was changed since \(updated_at .* → .*\): budget-guard paused it at /);
    expect(result.final.campaigns.find((c) => c.id === C.expensive)?.status).toBe('paused');
  });

  it('9. lifetime starts at creation: moving start_time into the future hides no history', async () => {
    const fixture = simFixture([
      { id: C.moved, name: 'Moved Start', budgetUsd: 1_000, spentUsd: 950, days: 10, cpcUsd: 1 },
      { id: C.delivered, name: 'Paused Veteran', status: 'paused', budgetUsd: 100_000, spentUsd: 2_000, days: 10, cpcUsd: 1 },
    ]);
    const future = SIM_FUTURE();
    const events = [
      { at: minutesLater(1), do: 'update' as const, level: 'campaign' as const, id: C.moved, body: { start_time: future } },
      { at: minutesLater(1), do: 'update' as const, level: 'campaign' as const, id: C.delivered, body: { start_time: future } },
    ];
    const result = await simulate(fixture, exampleRules(), 20, events);
    expect(result.events.every((e) => e.ok)).toBe(true);
    const guard = result.decisions.find((d) => d.rule_id === 'budget-guard' && d.entity_id === C.moved);
      expect(guard?.outcome).toBe("acted");
    expect(guard?.observed['budget_spent_fraction@lifetime']).toBeGreaterThanOrEqual(0.95);
    // 100,000 impressions of history: never "never delivered".
    expect(result.decisions.filter((d) => d.rule_id === 'activate-approved' && d.entity_id === C.delivered)).toEqual([]);
    expect(result.final.campaigns.find((c) => c.id === C.delivered)?.status).toBe('paused');
  });

  it('11. a child rule that looks at its parents leaves the ads of a campaign paused for the night alone', async () => {
    const stalled: RuleInput = {
      id: 'stalled-ads-6h',
      mode: 'live',
      schedule: ny('rate(1 hour)'),
      level: 'ad',
      when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { field: 'campaign_status', op: 'eq', value: 'active' }, { field: 'ad_group_status', op: 'eq', value: 'active' }, { metric: 'impressions', window: 'last_6_hours', op: 'eq', value: 0 }] },
      then: { action: 'pause' },
      priority: 0,
    };
    const pauseAtNight = exampleRules().rules.filter((r) => r.id.startsWith('daypart-')).map((r) => r.rule);
    const fixture = simFixture([{ id: C.daypartAds, name: 'Sleeping Bags [daypart]', spentUsd: 100, cpcUsd: 1, impressionsPerHour: 400 }]);
    const result = await simulate(fixture, [...pauseAtNight, stalled], 11 * 60);
    expect(outcomesOf(result, 'daypart-pause', C.daypartAds)).toEqual(['acted']);
    expect(outcomesOf(result, 'daypart-resume', C.daypartAds)).toEqual(['acted']);
    expect(result.decisions.filter((d) => d.rule_id === 'stalled-ads-6h')).toEqual([]);
    expect(result.final.ads.every((a) => a.status === 'active')).toBe(true);
  });
});

/** A start time well after the simulations end. */
function SIM_FUTURE(): number {
  return 1_795_143_000 + 30 * 86_400;
}
