// Every action that calls the API, in the sandbox: execute (one call, the answer checked, the
// record and the memory), reconcile (the process dies after the call; the next run confirms it
// from the entity, without a second call), and undo (the inverse, or a refusal saying why).
import { afterEach, describe, expect, it } from 'vitest';
import { actionDefinition } from '../../functions/actions/registry';
import { undoDecision } from '../../functions/engine/undo';
import { ManualClock } from '../../functions/shared/clock';
import { ACCOUNT_ID, engineFixture } from '../helpers/fixtures';
import { compiledFrom, rig, writeCalls, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';
import { SCENARIOS, type CallingAction, type Scenario } from './scenarios';

const OCCURRENCE = '2026-03-10T15:00:00Z';
const cases = (Object.keys(SCENARIOS) as CallingAction[]).flatMap((name) => SCENARIOS[name].map((s, i) => [`${name} at ${s.level} level${i > 0 ? ` (${i + 1})` : ''}`, s] as const));

const classOf = (s: Scenario) => actionDefinition(s.then.action).conflictClass;
const isMoney = (s: Scenario): boolean => classOf(s) === 'budget' || classOf(s) === 'bid';

function rulesFor(s: Scenario) {
  return compiledFrom([{ id: 'the-rule', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'UTC' }, level: s.level, scope: { ids: [s.entityId] }, when: s.when ?? { field: 'status', op: 'eq', value: s.before as 'active' }, then: s.then, priority: 10, ...(isMoney(s) ? { guards: { cooldown: '1d' } } : {}) }]);
}

/** The value the scenario's action changes, in the sandbox's world now. */
function valueOf(r: Rig, s: Scenario): string | number | null | undefined {
  const w = r.sandbox.world;
  if (classOf(s) === 'budget') return w.campaigns.get(s.entityId)?.budget_micros;
  if (classOf(s) === 'bid') return w.adGroups.get(s.entityId)?.max_bid_micros;
  return s.level === 'campaign' ? w.campaigns.get(s.entityId)?.status : s.level === 'ad_group' ? w.adGroups.get(s.entityId)?.status : w.ads.get(s.entityId)?.status;
}

/** What the record says about the value before and after. */
function recorded(s: Scenario, before: string | number, after: string | number) {
  return isMoney(s) ? { value_before_micros: before, value_after_micros: after, status_before: 'active', status_after: 'active' } : { status_before: before, status_after: after };
}

describe.each(cases)('%s', (_name, s) => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('execute: one call, recorded acted with the value before and after, the rule holding it', async () => {
    r = await rig(engineFixture(), rulesFor(s));
    expect(valueOf(r, s)).toBe(s.before);
    const { decisions } = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ outcome: 'acted', action: s.then.action, target: s.after, level: s.level, ...recorded(s, s.before, s.after) });
    expect(valueOf(r, s)).toBe(s.after);
    expect(writeCalls(r.sandbox).filter((c) => c.effect)).toHaveLength(1);
    const memory = (await r.store.entityMemories(ACCOUNT_ID, [s.entityId])).get(s.entityId);
    const cls = classOf(s) as 'status' | 'budget' | 'bid';
    expect(memory?.holders[cls]).toMatchObject({ kind: 'rule', rule_id: 'the-rule', intent: s.after, by: 'change', decision_id: decisions[0]?.decision_id });
  });

  it('reconcile: killed after the call, confirmed by the next run from the entity, no second call', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), rulesFor(s), { realClock: real });
    await r.engine({ crashPoints: { afterCall: () => { throw new Error('process killed'); } } }).runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: OCCURRENCE });
    real.advance(60_000);
    const next = await r.engine().runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    expect(next.summary.counts.reconciled).toBe(1);
    const [record] = await r.store.queryDecisions(ACCOUNT_ID, { entityId: s.entityId, outcome: 'acted' });
    expect(record).toMatchObject({ scheduled_time: '2026-03-10T15:00:00.000Z', api_result: { confirmed_by: 'reconciled' }, target: s.after, ...(isMoney(s) ? { value_after_micros: s.after } : { status_after: s.after }) });
    expect(valueOf(r, s)).toBe(s.after);
    expect(writeCalls(r.sandbox).filter((c) => c.effect)).toHaveLength(1);
  });

  it(`undo: ${'restores' in s.undo ? 'restores the value before' : 'refused, saying why'}`, async () => {
    r = await rig(engineFixture(), rulesFor(s));
    const { decisions } = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    const result = await undoDecision({ client: clientFor(r.sandbox), store: r.store, clock: r.sandbox.world.clock }, ACCOUNT_ID, decisions[0]?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    if ('restores' in s.undo) {
      expect(result).toMatchObject({ status: 'undone', record: { outcome: 'acted', target: s.undo.restores, undoes: decisions[0]?.decision_id, ...recorded(s, s.after, s.undo.restores) } });
      expect(valueOf(r, s)).toBe(s.undo.restores);
    } else {
      expect(result.status).toBe('refused');
      expect(result.status === 'refused' ? result.reason : '').toMatch(s.undo.refuses);
      expect(valueOf(r, s)).toBe(s.after);
    }
  });
});

describe('undo of a money change', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('refuses once the value is not the one the rule set, naming both', async () => {
    const [s] = SCENARIOS.change_budget;
    r = await rig(engineFixture(), rulesFor(s));
    const { decisions } = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    r.sandbox.world.clock.advance(60);
    await clientFor(r.sandbox).updateCampaign(s.entityId, { budget: { lifetime_spend_limit_micros: 13_000_000_000 } });
    const result = await undoDecision({ client: clientFor(r.sandbox), store: r.store, clock: r.sandbox.world.clock }, ACCOUNT_ID, decisions[0]?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(result).toMatchObject({ status: 'refused', reason: expect.stringContaining('has a lifetime budget of $13,000.00 now, not $12,000.00 as the-rule left it') as unknown });
    expect(r.sandbox.world.campaigns.get(s.entityId)?.budget_micros).toBe(13_000_000_000);
  });

  it('the undo is a person’s change: an increase rule leaves the restored value alone', async () => {
    const [s] = SCENARIOS.change_budget;
    r = await rig(engineFixture(), rulesFor({ ...s, then: { action: 'change_budget', by_percent: 20, max_usd: 20_000 } }));
    const { decisions } = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    await undoDecision({ client: clientFor(r.sandbox), store: r.store, clock: r.sandbox.world.clock }, ACCOUNT_ID, decisions[0]?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(r.sandbox.world.campaigns.get(s.entityId)?.budget_micros).toBe(10_000_000_000);
    // Two days on (past the cooldown), the rule matches again but does not raise over the person's undo.
    r.sandbox.world.clock.advance(2 * 86_400);
    const later = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-12T15:00:00Z' });
    expect(later.decisions).toMatchObject([{ outcome: 'skipped_manual_override' }]);
    expect(r.sandbox.world.campaigns.get(s.entityId)?.budget_micros).toBe(10_000_000_000);
  });
});
