// Regression, found by the org-hour bench: a money rule on ad groups listed through insights (no
// timestamps, no max bid) re-read every matched ad group at every run (one GET each), although the
// rule was in its cooldown on them and could decide nothing from the read: 208 of an org's 244
// requests an hour with the shipped bid-down-expensive. In its cooldown, the rule is now
// skipped_cooldown without the read; out of it, it reads again.
import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../../functions/rules/schema';
import { simFixture, simulate } from '../helpers/sim';

const C = 'ac000000-0000-4000-8000-000000000001';
const G = `${C}-group`;
const bidDown = (cooldown: string | undefined): RuleInput => ({
  id: 'bid-down',
  mode: 'dry_run',
  schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' },
  level: 'ad_group',
  when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 0.5 }] },
  then: { action: 'change_bid', by_percent: -10, min_usd: 0.1 },
  ...(cooldown ? { guards: { cooldown } } : {}),
});

describe('regression: a rule in its cooldown re-read every insights-listed ad group at every run', () => {
  it('reads the ad group once while the cooldown runs, and decides skipped_cooldown', async () => {
    // A second, idle campaign, so the probe finds zero-impression items and ad groups are listed through insights.
    const fixture = (): ReturnType<typeof simFixture> => {
      const f = simFixture([
        { id: C, name: 'Lamps', spentUsd: 300, days: 10, cpcUsd: 1, impressionsPerHour: 300 },
        { id: 'ac000000-0000-4000-8000-000000000002', name: 'Idle', status: 'paused' },
      ]);
      const group = f.campaigns?.[0]?.ad_groups?.[0];
      if (group) group.bidding_config = { max_bid_micros: 2_000_000 };
      return f;
    };
    const cooling = await simulate(fixture(), [bidDown('12h')], 90);
    const every = await simulate(fixture(), [bidDown(undefined)], 90);
    expect(cooling.runs).toBe(every.runs);
    expect(cooling.runs).toBeGreaterThanOrEqual(6);
    // Without a cooldown each run reads the ad group; with one, only the first does.
    expect(every.requests - cooling.requests).toBe(cooling.runs - 1);
    const outcomes = cooling.decisions.filter((d) => d.entity_id === G).map((d) => d.outcome);
    expect(outcomes[0]).toBe('would_act');
    expect(outcomes.slice(1)).toEqual(['skipped_cooldown']);
    const first = cooling.decisions.find((d) => d.entity_id === G);
    expect(first?.value_before_micros).not.toBeNull();
  });
});
