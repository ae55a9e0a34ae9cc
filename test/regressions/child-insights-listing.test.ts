// Regression, found by an adversarial review (it failed before the fix): ad groups listed through insights metadata (the default when
// the API offers it, as the sandbox's reference profile does) carry no updated_at. Any rule that
// matches such an ad group overwrites the engine's memory of it with updated_at: null, and the
// holder becomes "unknown: the API reports no updated_at for this ad group" (it does: it was read
// after our own pause). The morning resume (only_if_paused_by) is then refused forever, and the
// record names a reason that is not true.
import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../../functions/rules/schema';
import { simFixture, simulate } from '../helpers/sim';

const C = 'ab000000-0000-4000-8000-000000000001';
const G = `${C}-group`;
const every = (minutes: number) => ({ expression: `rate(${minutes} minutes)`, timezone: 'America/New_York' });
const rules: RuleInput[] = [
  { id: 'group-night', mode: 'live', schedule: { expression: 'cron(0 22 * * ? *)', timezone: 'America/New_York' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, priority: 10 },
  { id: 'group-morning', mode: 'live', schedule: { expression: 'cron(0 7 * * ? *)', timezone: 'America/New_York' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['group-night'] }, priority: 5 },
  // An ordinary guard that does not say status eq active: it matches the paused group too (already_in_state).
  { id: 'group-cpc-guard', mode: 'live', schedule: every(30), level: 'ad_group', when: { all: [{ metric: 'cpc', window: 'last_3_days', op: 'gt', value: 0.5 }, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 10 }] }, then: { action: 'pause' }, priority: 1 },
];

describe('regression: children listed through insights lose their holder', () => {
  it('the morning resume brings back the ad group the night rule paused', async () => {
    // A second, idle campaign: an ad with no impressions in the probe's hour, so the engine finds
    // that includes[]=zero_impression_items works and lists ad groups through insights.
    const fixture = simFixture([
      { id: C, name: 'Lamps', spentUsd: 300, days: 10, cpcUsd: 1, impressionsPerHour: 300 },
      { id: 'ab000000-0000-4000-8000-000000000002', name: 'Idle', status: 'paused' },
    ]);
    const result = await simulate(fixture, rules, 10 * 60);
    const lines = result.decisions.filter((d) => d.entity_id === G).map((d) => `${d.evaluated_at} ${d.rule_id} ${d.outcome} ${d.reason} holder=${JSON.stringify(d.holder)}`);
    const morning = result.decisions.find((d) => d.rule_id === 'group-morning' && d.entity_id === G);
    expect(morning?.reason ?? '', lines.join('\n')).not.toMatch(/reports no updated_at/);
    expect(morning?.outcome).toBe('acted');
  });
});
