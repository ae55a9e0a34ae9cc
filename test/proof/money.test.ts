// Money changes land exactly once, at the value computed from the value read: +20% applied twice
// would be +44%, so a retry, a redelivery, a reconciliation or a concurrent run must never apply
// one again. Proven under each fault kind at 20% of requests, and with 4 runs at once, from the
// sandbox's world after every cycle and the audit table at the end.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { ManualClock } from '../../functions/shared/clock';
import type { FaultKind } from '../../sandbox/server';
import { compiledFrom, rig, type Rig } from '../helpers/engine';
import { ACCOUNT_ID, eids, engineFixture } from '../helpers/fixtures';
import { clientFor } from '../helpers/sandbox';

const BUDGET = 10_000_000_000; // $10,000
const BUDGET_TARGET = 12_000_000_000; // +20%
const BID = 2_000_000; // $2
const BID_TARGET = 1_800_000; // −10%
const ACTIVE_CAMPAIGNS = [eids.expensive, eids.cheap, eids.night];
const GROUPS = [eids.expensive, eids.cheap, eids.approved, eids.night].map((id) => `${id}-ag`);
const T0 = Date.parse('2026-03-10T15:00:00Z');
const PERIOD = 15 * 60_000;

const RULES = compiledFrom([
  { id: 'scale', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'UTC' }, level: 'campaign', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'change_budget', by_percent: 20, max_usd: 100_000 }, guards: { cooldown: '1d' }, priority: 5 },
  { id: 'bid-down', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'UTC' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'change_bid', by_percent: -10, min_usd: 0.1 }, guards: { cooldown: '1d' }, priority: 5 },
]);

/** Every budget and bid in the world is either untouched or exactly at its target: never compounded. */
function expectNeverCompounded(r: Rig): void {
  for (const id of ACTIVE_CAMPAIGNS) expect([BUDGET, BUDGET_TARGET], `budget of ${id}`).toContain(r.sandbox.world.campaigns.get(id)?.budget_micros);
  expect(r.sandbox.world.campaigns.get(eids.approved)?.budget_micros).toBe(BUDGET);
  for (const id of GROUPS) expect([BID, BID_TARGET], `bid of ${id}`).toContain(r.sandbox.world.adGroups.get(id)?.max_bid_micros);
}

/** At the end: every value at its target, and exactly one acted record per entity, from the value before to the target. */
async function expectLandedOnce(r: Rig): Promise<void> {
  for (const id of ACTIVE_CAMPAIGNS) expect(r.sandbox.world.campaigns.get(id)?.budget_micros, `budget of ${id}`).toBe(BUDGET_TARGET);
  for (const id of GROUPS) expect(r.sandbox.world.adGroups.get(id)?.max_bid_micros, `bid of ${id}`).toBe(BID_TARGET);
  const acted = (await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'acted', limit: 1000 })).filter((d) => d.action === 'change_budget' || d.action === 'change_bid');
  const byEntity = new Map<string, DecisionRecord[]>();
  for (const d of acted) byEntity.set(d.entity_id, [...(byEntity.get(d.entity_id) ?? []), d]);
  expect([...byEntity.keys()].sort()).toEqual([...ACTIVE_CAMPAIGNS, ...GROUPS].sort());
  for (const [id, records] of byEntity) {
    expect(records, `acted records of ${id}`).toHaveLength(1);
    const [d] = records;
    expect(d).toMatchObject(d.action === 'change_budget' ? { value_before_micros: BUDGET, value_after_micros: BUDGET_TARGET, target: BUDGET_TARGET } : { value_before_micros: BID, value_after_micros: BID_TARGET, target: BID_TARGET });
  }
}

describe.each(['http_500', 'http_503', 'http_429', 'timeout', 'reset', 'malformed_json'] as const)('money changes under %s at 20% of requests', (kind: FaultKind) => {
  let r: Rig;
  const real = new ManualClock(Date.now());
  beforeAll(async () => {
    r = await rig(engineFixture(), RULES, { realClock: real });
  });
  afterAll(async () => {
    await r.close();
  });

  it('land exactly once at the computed value, never compounded', async () => {
    r.sandbox.setFaults({ rate: 0.2, kinds: [kind], seed: 20261201, retry_after_seconds: 2, timeout_hold_ms: 300 });
    const engine = r.engine({ client: clientFor(r.sandbox, { requestTimeoutMs: 120, retry: { maxAttempts: 3 } }) });
    for (let i = 0; i < 12; i += 1) {
      const at = T0 + i * PERIOD;
      r.sandbox.world.clock.set(at);
      // Each cycle's leases lapse before the next (real time moves on with the schedule).
      real.advance(PERIOD);
      await engine.runCycle({ scheduledTime: at, scheduleId: 'money', deadlineMs: real.nowMs() + 60_000 }).catch(() => undefined);
      expectNeverCompounded(r);
    }
    // A calm API and a later run settle what the faults left unconfirmed.
    r.sandbox.setFaults({ rate: 0 });
    real.advance(3_600_000);
    const at = T0 + 12 * PERIOD;
    r.sandbox.world.clock.set(at);
    await r.engine().runCycle({ scheduledTime: at, scheduleId: 'money', deadlineMs: real.nowMs() + 60_000 });
    expectNeverCompounded(r);
    await expectLandedOnce(r);
  });
});

describe('money changes with 4 runs at once', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('four concurrent runs of consecutive occurrences (each computing from the value it read) change each value once', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), RULES, { realClock: real });
    const rr = r;
    // Four occurrences due at once (a backlog delivered together): four engines, one table.
    const occurrences = [0, 1, 2, 3].map((i) => T0 + i * PERIOD);
    rr.sandbox.world.clock.set(occurrences[3]);
    const engines = occurrences.map(() => rr.engine());
    const results = await Promise.all(occurrences.map((at, i) => engines[i].runCycle({ scheduledTime: at, scheduleId: 'money', deadlineMs: real.nowMs() + 60_000 })));
    expect(results.every((x) => x.summary.status === 'completed')).toBe(true);
    expectNeverCompounded(rr);
    await expectLandedOnce(rr);
    // The others found the value already at their target, or changing: nothing called twice.
    const others = results.flatMap((x) => x.decisions).filter((d) => d.outcome !== 'acted' && (d.action === 'change_budget' || d.action === 'change_bid'));
    for (const d of others) expect(['already_in_state', 'skipped_conflict', 'skipped_cooldown', 'skipped_manual_override']).toContain(d.outcome);
  });

  it('four concurrent deliveries of one occurrence: one intent per entity, one call', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), RULES, { realClock: real });
    const rr = r;
    rr.sandbox.world.clock.set(T0);
    // Different schedule ids: the occurrence claim does not stop them; the intents must.
    await Promise.all([0, 1, 2, 3].map((i) => rr.engine().runCycle({ scheduledTime: T0, scheduleId: `money-${i}`, deadlineMs: real.nowMs() + 60_000 })));
    expectNeverCompounded(rr);
    await expectLandedOnce(rr);
    const updates = rr.sandbox.requests().filter((q) => q.method === 'POST' && /^\/v1\/(campaigns|ad_groups)\/[^/]+$/.test(q.path));
    expect(updates).toHaveLength(ACTIVE_CAMPAIGNS.length + GROUPS.length);
  });
});
