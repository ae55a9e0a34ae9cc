// Regression, found by an adversarial review (it failed before the fix): lifetime is read from the earliest campaign creation in the
// account, archived campaigns included, in one set of ranges for every campaign. The reference
// (and the sandbox, in the reference profile) refuses a range starting more than 5 years ago, so
// one campaign archived years ago switches off every lifetime rule of the account: budget-guard
// records data_unavailable forever and a campaign at 95% of its budget spends it all.
import { describe, expect, it } from 'vitest';
import { exampleRules } from '../helpers/engine';
import { simFixture, simulate } from '../helpers/sim';

const OLD = 'f5000000-0000-4000-8000-000000000001';
const NEAR = 'f5000000-0000-4000-8000-000000000002';

describe('regression: one old campaign disables every lifetime rule', () => {
  it('budget-guard still pauses the campaign at 95% when an archived campaign was created 6 years ago', async () => {
    const fixture = simFixture([
      { id: OLD, name: 'Launch 2020 (archived)', status: 'archived', createdDaysAgo: 6 * 365 },
      { id: NEAR, name: 'Near Cap', budgetUsd: 1_000, spentUsd: 950, days: 10, cpcUsd: 1, impressionsPerHour: 1_000 },
    ]);
    const result = await simulate(fixture, exampleRules(), 30);
    const guard = result.decisions.filter((d) => d.rule_id === 'budget-guard');
    expect(guard.find((d) => d.entity_id === NEAR)?.outcome).toBe('acted');
  });
});
