// Regression, found by an adversarial review (it failed before the fix): in the first hour of the day the `today` window reads nothing
// (no complete hour yet), and an empty read counts as zero delivery: a rule about "no impressions
// today" pauses every delivering campaign at 00:30, on data for a 0-minute range instead of the
// 30 minutes it names. The ratio metrics call this insufficient_data; the counts do not.
import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../../functions/rules/schema';
import { simFixture, simulate } from '../helpers/sim';

const C = 'ee000000-0000-4000-8000-000000000001';
const rule: RuleInput = {
  id: 'not-delivering-today',
  mode: 'live',
  schedule: { expression: 'cron(30 0 * * ? *)', timezone: 'America/New_York' },
  level: 'campaign',
  when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'impressions', window: 'today', op: 'eq', value: 0 }] },
  then: { action: 'pause' },
};

describe('regression: an empty read is not zero delivery', () => {
  it('a campaign delivering 2,000 impressions an hour is not paused at 00:30 for "0 impressions today"', async () => {
    const fixture = simFixture([{ id: C, name: 'Busy', spentUsd: 500, days: 10, impressionsPerHour: 2_000 }]);
    const result = await simulate(fixture, [rule], 3 * 60);
    const d = result.decisions.find((x) => x.entity_id === C);
    expect(d?.outcome).not.toBe('acted');
    expect(result.final.campaigns.find((c) => c.id === C)?.status).toBe('active');
  });
});
