// Regression, found by an adversarial review (it failed before the fix): a pause by an equal-priority rule is "laundered" into
// daypart-pause's hold by an assertion (daypart-pause matches the already-paused campaign at
// 22:00, mayAssert allows holder.priority <= rule.priority), and daypart-resume (priority 5,
// only_if_paused_by daypart-pause) then activates at 07:00 a campaign that cpc-guard / ctr-floor
// (priority 10) paused, which daypart-resume does not name. Shipped rules only.
import { describe, expect, it } from 'vitest';
import { exampleRules } from '../helpers/engine';
import { simFixture, simulate } from '../helpers/sim';
import { GroundTruth } from '../helpers/truth';
import { loadRules } from '../../functions/rules/validate';
import { RULES_DIR } from '../helpers/engine';

const ID = 'e1000000-0000-4000-8000-000000000001';

describe('regression: hold laundering through an assertion', () => {
  it('daypart-resume never re-activates a [daypart] campaign that cpc-guard (priority 10) paused', async () => {
    // 50 clicks a day at $3 over the last 10 days: cpc-guard (3-day CPC > $2.50, >= 100 clicks) matches.
    const fixture = simFixture([{ id: ID, name: 'Trail [daypart] Expensive', budgetUsd: 100_000, spentUsd: 1_500, days: 10, cpcUsd: 3, ctr: 0.02, impressionsPerHour: 500 }]);
    const rules = exampleRules();
    const truth = new GroundTruth(loadRules([RULES_DIR]).rules.map((r) => r.rule), [{ id: ID, status: 'active' }]);
    const violations: string[] = [];
    const result = await simulate(fixture, rules, 36 * 60, [], (step) => {
      try {
        truth.check(step);
      } catch (e) {
        violations.push((e as Error).message.split('\n')[0]);
      }
    });
    const lines = result.decisions.filter((d) => d.entity_id === ID && !['skipped_cooldown'].includes(d.outcome)).map((d) => `${d.evaluated_at} ${d.rule_id} ${d.outcome} ${d.reason}`);
    const resumed = result.decisions.filter((d) => d.rule_id === 'daypart-resume' && d.entity_id === ID && d.outcome === 'acted');
    // The pause cpc-guard made was never reversed by a person or a rule that names cpc-guard.
    expect(resumed.map((d) => `${d.evaluated_at}: ${d.reason}`), lines.join('\n')).toEqual([]);
    expect(violations).toEqual([]);
  });
});
