// Regression, found by an adversarial review (it failed before the fix): the simulator property test (test/sim/property.test.ts) only
// generates pause rules that say `status eq active`, so no rule ever matches an entity already in
// its target and takes a hold by assertion — the mechanism daypart-pause relies on. This is the
// same property with that one degree of freedom added (a pause rule may match paused campaigns too,
// as daypart-pause does), checked against the same ground truth (test/helpers/truth.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../../functions/rules/schema';
import type { SimEvent } from '../../functions/sim/events';
import { minutesLater, simFixture, simulate, type SimCampaign } from '../helpers/sim';
import { GroundTruth } from '../helpers/truth';

const CAMPAIGNS: SimCampaign[] = [
  { id: 'p1000000-0000-4000-8000-000000000001', name: 'Steady Seller', spentUsd: 300, cpcUsd: 1.2, impressionsPerHour: 800 },
  { id: 'p1000000-0000-4000-8000-000000000002', name: 'Pricey Clicks', spentUsd: 600, cpcUsd: 3.1, impressionsPerHour: 500 },
  { id: 'p1000000-0000-4000-8000-000000000003', name: 'Waiting Launch', status: 'paused', startInSeconds: 3_600, createdDaysAgo: 1, cpcUsd: 1, impressionsPerHour: 300 },
  { id: 'p1000000-0000-4000-8000-000000000004', name: 'Paused By Hand', status: 'paused', spentUsd: 200, cpcUsd: 0.9, impressionsPerHour: 600 },
];
const IDS = CAMPAIGNS.map((c) => c.id);
const HORIZON_MINUTES = 2 * 24 * 60;
const SCHEDULES = ['rate(30 minutes)', 'rate(1 hour)', 'cron(0 22 * * ? *)', 'cron(0 7 * * ? *)'] as const;

const ruleSpec = fc.record({
  action: fc.constantFrom('pause' as const, 'activate' as const),
  priority: fc.constantFrom(0, 5, 10, 20),
  schedule: fc.constantFrom(...SCHEDULES),
  cheapOnly: fc.boolean(),
  /** A pause rule that matches paused campaigns too (status neq archived), as daypart-pause does. */
  holdsPaused: fc.boolean(),
  resumes: fc.array(fc.nat({ max: 3 }), { maxLength: 2 }),
});
type Spec = { action: 'pause' | 'activate'; priority: number; schedule: (typeof SCHEDULES)[number]; cheapOnly: boolean; holdsPaused: boolean; resumes: number[] };

function rulesFrom(specs: Spec[]): RuleInput[] {
  const pauses = specs.map((s, i) => (s.action === 'pause' ? `r${i}` : null)).filter((id): id is string => id !== null);
  return specs.map((s, i) => {
    const named = [...new Set(s.resumes.map((n) => pauses[n % Math.max(1, pauses.length)]).filter((id): id is string => id !== undefined))];
    const metric = s.cheapOnly ? [{ metric: 'cpc' as const, window: 'last_3_days' as const, op: s.action === 'pause' ? ('gt' as const) : ('lt' as const), value: 2 }] : [];
    const status = s.action === 'pause' ? (s.holdsPaused ? { field: 'status' as const, op: 'neq' as const, value: 'archived' } : { field: 'status' as const, op: 'eq' as const, value: 'active' }) : { field: 'status' as const, op: 'eq' as const, value: 'paused' };
    return {
      id: `r${i}`,
      mode: 'live',
      schedule: { expression: s.schedule, timezone: 'America/New_York' },
      level: 'campaign',
      when: { all: [status, ...metric] },
      then: s.action === 'activate' && named.length > 0 ? { action: 'activate', only_if_paused_by: named } : { action: s.action },
      guards: { min_data: { clicks: 5 } },
      priority: s.priority,
    } satisfies RuleInput;
  });
}

const eventArb = fc.record({ minute: fc.integer({ min: 1, max: HORIZON_MINUTES - 1 }), kind: fc.constantFrom('pause' as const, 'activate' as const), campaign: fc.nat({ max: IDS.length - 1 }) });

describe('regression: the ownership property with assertion holds', () => {
  it('holds for generated rule sets where a pause rule may hold paused campaigns', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ruleSpec, { minLength: 0, maxLength: 2 }), fc.constantFrom(0, 5, 10, 20), fc.constantFrom(0, 5, 10, 20), fc.constantFrom('cron(0 22 * * ? *)' as const, 'rate(1 hour)' as const), fc.array(eventArb, { maxLength: 6 }), async (extra, holdPriority, resumePriority, holdSchedule, eventSpecs) => {
        // Always one rule that holds paused campaigns and one that resumes what it holds (the
        // daypart pair), plus up to two generated rules.
        const specs: Spec[] = [
          { action: 'pause', priority: holdPriority, schedule: holdSchedule, cheapOnly: false, holdsPaused: true, resumes: [] },
          { action: 'activate', priority: resumePriority, schedule: 'cron(0 7 * * ? *)', cheapOnly: false, holdsPaused: false, resumes: [0] },
          ...extra,
        ];
        const rules = rulesFrom(specs);
        const truth = new GroundTruth(rules, CAMPAIGNS.map((c) => ({ id: c.id, status: c.status ?? 'active' })));
        const events: SimEvent[] = [...eventSpecs].sort((a, b) => a.minute - b.minute).map((e) => ({ at: minutesLater(e.minute), do: e.kind, level: 'campaign' as const, id: IDS[e.campaign] }));
        await simulate(simFixture(CAMPAIGNS), rules, HORIZON_MINUTES, events, (step) => truth.check(step));
      }),
      { numRuns: 10, seed: 7, endOnFailure: true, examples: [[[{ action: 'pause', priority: 10, schedule: 'rate(30 minutes)', cheapOnly: false, holdsPaused: false, resumes: [] }], 10, 5, 'cron(0 22 * * ? *)', []]] },
    );
    expect(true).toBe(true);
  }, 300_000);
});
