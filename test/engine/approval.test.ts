// Approval mode in the engine: a proposal blocks a second one while it waits; it expires; two
// people approving at once apply it once; a status proposal (a launch) is approved like a budget
// one; a proposal is refused once a higher-priority rule holds the entity; the digest lists what
// waits for a person.
import { afterEach, describe, expect, it } from 'vitest';
import { formatDigest } from '../../functions/engine/notifier';
import { approveProposal, pendingProposals, rejectProposal } from '../../functions/engine/approval';
import { ManualClock } from '../../functions/shared/clock';
import type { RuleInput } from '../../functions/rules/schema';
import { compiledFrom, rig, writeCalls, type Rig } from '../helpers/engine';
import { ACCOUNT_ID, eids, engineFixture } from '../helpers/fixtures';
import { clientFor } from '../helpers/sandbox';

const T0 = Date.parse('2026-03-10T15:00:00Z');
const HOUR = 3_600_000;
const every15 = { expression: 'rate(15 minutes)', timezone: 'UTC' } as const;

const scale = (overrides: Partial<RuleInput> = {}): RuleInput => ({
  id: 'scale',
  mode: 'approval',
  schedule: every15,
  level: 'campaign',
  scope: { ids: [eids.cheap] },
  when: { field: 'status', op: 'eq', value: 'active' },
  then: { action: 'change_budget', by_percent: 20, max_usd: 20_000 },
  guards: { cooldown: '1d', approval_expires: '2h' },
  priority: 5,
  ...overrides,
});

describe('approval mode', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  const deps = (rr: Rig) => ({ client: clientFor(rr.sandbox), store: rr.store, clock: rr.sandbox.world.clock });
  const cycle = (rr: Rig, atMs: number) => {
    rr.sandbox.world.clock.set(atMs);
    return rr.engine().runCycle({ scheduledTime: atMs, deadlineMs: Date.now() + 30_000 });
  };

  it('a pending proposal blocks a second one; once expired, the rule proposes again', async () => {
    r = await rig(engineFixture(), compiledFrom([scale()]));
    const first = await cycle(r, T0);
    expect(first.decisions.map((d) => d.outcome)).toEqual(['awaiting_approval']);
    expect(first.decisions[0]).toMatchObject({ target: 12_000_000_000, value_before_micros: 10_000_000_000, approval: { expires_at: '2026-03-10T17:00:00.000Z' } });
    const second = await cycle(r, T0 + HOUR);
    expect(second.decisions).toMatchObject([{ outcome: 'skipped_cooldown', reason: expect.stringContaining('waits for approval until') as unknown }]);
    // Past its expiry: listed as expired (and closed), not approvable.
    r.sandbox.world.clock.set(T0 + 2 * HOUR + 60_000);
    const listed = await pendingProposals(r.store, ACCOUNT_ID, r.sandbox.world.clock.nowMs());
    expect(listed.pending).toEqual([]);
    expect(listed.expired).toMatchObject([{ decision_id: first.decisions[0]?.decision_id, outcome: 'expired', approval: { resolved_by: 'autopilot' } }]);
    const late = await approveProposal(deps(r), ACCOUNT_ID, first.decisions[0]?.decision_id ?? '', { deadlineMs: Date.now() + 30_000, by: 'dana' });
    expect(late).toMatchObject({ status: 'refused', reason: expect.stringContaining('expired') as unknown });
    const third = await cycle(r, T0 + 2 * HOUR + 15 * 60_000);
    expect(third.decisions.map((d) => d.outcome)).toEqual(['awaiting_approval']);
    expect(writeCalls(r.sandbox)).toEqual([]);
  });

  it('an expired proposal found by approve is closed and refused', async () => {
    r = await rig(engineFixture(), compiledFrom([scale()]));
    const { decisions } = await cycle(r, T0);
    r.sandbox.world.clock.set(T0 + 3 * HOUR);
    const result = await approveProposal(deps(r), ACCOUNT_ID, decisions[0]?.decision_id ?? '', { deadlineMs: Date.now() + 30_000, by: 'dana' });
    expect(result).toEqual({ status: 'refused', reason: `Proposal ${decisions[0]?.decision_id} expired at 2026-03-10T17:00:00.000Z; it cannot be approved now. The rule proposes again on a later match.` });
    expect((await r.store.getDecision(ACCOUNT_ID, decisions[0]?.decision_id ?? ''))?.outcome).toBe('expired');
    expect(r.sandbox.world.campaigns.get(eids.cheap)?.budget_micros).toBe(10_000_000_000);
  });

  it('two people approving at once apply it once', async () => {
    r = await rig(engineFixture(), compiledFrom([scale()]));
    const rr = r;
    const { decisions } = await cycle(rr, T0);
    const id = decisions[0]?.decision_id ?? '';
    const results = await Promise.all(['dana', 'eli', 'fay'].map((by) => approveProposal(deps(rr), ACCOUNT_ID, id, { deadlineMs: Date.now() + 30_000, by })));
    expect(results.filter((x) => x.status === 'approved')).toHaveLength(1);
    expect(results.filter((x) => x.status === 'refused')).toHaveLength(2);
    expect(rr.sandbox.world.campaigns.get(eids.cheap)?.budget_micros).toBe(12_000_000_000);
    expect(writeCalls(rr.sandbox).filter((c) => c.effect)).toHaveLength(1);
    // The approved change counts for the rule's cooldown: no new proposal the next hour.
    const next = await cycle(rr, T0 + HOUR);
    expect(next.decisions).toMatchObject([{ outcome: 'skipped_cooldown' }]);
  });

  it('a launch proposal is approved like a budget one, and the digest lists what waits', async () => {
    const launch: RuleInput = { id: 'launch', mode: 'approval', schedule: every15, level: 'campaign', when: { all: [{ field: 'review_status', op: 'eq', value: 'approved' }, { field: 'status', op: 'eq', value: 'paused' }] }, then: { action: 'activate' } };
    r = await rig(engineFixture(), compiledFrom([launch]));
    const { decisions } = await cycle(r, T0);
    expect(decisions).toMatchObject([{ entity_id: eids.approved, outcome: 'awaiting_approval', target: 'active', status_before: 'paused', status_after: null }]);
    expect(r.sandbox.world.campaigns.get(eids.approved)?.status).toBe('paused');
    const result = await approveProposal(deps(r), ACCOUNT_ID, decisions[0]?.decision_id ?? '', { deadlineMs: Date.now() + 30_000, by: 'dana' });
    expect(result).toMatchObject({ status: 'approved', record: { outcome: 'acted', status_before: 'paused', status_after: 'active', approves: decisions[0]?.decision_id } });
    expect(r.sandbox.world.campaigns.get(eids.approved)?.status).toBe('active');
    const digest = formatDigest(r.notifier.digests[0]);
    expect(digest?.subject).toContain('1 awaiting approval');
    expect(digest?.body).toContain('1 proposal awaits approval: thrad-rules approvals, then thrad-rules approve <decision_id> or reject <decision_id>.');
    // For an org of an orgs file, the digest names it and its commands select it.
    const first = r.notifier.digests[0];
    const ofOrg = first ? formatDigest({ ...first, org_id: 'globex' }) : null;
    expect(ofOrg?.subject).toMatch(/^Thrad autopilot \[globex\]: 1 awaiting approval/);
    expect(ofOrg?.body).toContain(`of organization globex (ad account ${ACCOUNT_ID})`);
    expect(ofOrg?.body).toContain('1 proposal awaits approval: thrad-rules approvals --org globex, then thrad-rules approve --org globex <decision_id> or reject --org globex <decision_id>.');
  });

  it('refuses once a higher-priority rule holds the entity, even with nothing else changed', async () => {
    // A live pause of higher priority, and an approval rule that would raise the budget.
    const hold: RuleInput = { id: 'hold-budget', mode: 'live', schedule: every15, level: 'campaign', scope: { ids: [eids.cheap] }, when: { field: 'lifetime_budget_usd', op: 'eq', value: 999_999 }, then: { action: 'change_budget', by_percent: -10, min_usd: 100 }, guards: { cooldown: '1d' }, priority: 50 };
    r = await rig(engineFixture(), compiledFrom([scale(), hold]));
    const { decisions } = await cycle(r, T0);
    const proposal = decisions.find((d) => d.rule_id === 'scale');
    expect(proposal?.outcome).toBe('awaiting_approval');
    // The memory now names another holder of the budget (as an assertion of a higher-priority rule would).
    await r.store.updateEntityMemories(ACCOUNT_ID, [{ entityId: eids.cheap, holder: { cls: 'budget', holder: { kind: 'rule', rule_id: 'hold-budget', priority: 50, intent: 10_000_000_000, direction: 'down', by: 'assertion', decision_id: null, at_ms: T0 + 60_000 } } }]);
    const result = await approveProposal(deps(r), ACCOUNT_ID, proposal?.decision_id ?? '', { deadlineMs: Date.now() + 30_000, by: 'dana' });
    expect(result).toMatchObject({ status: 'refused', reason: expect.stringContaining('its lifetime budget is held by hold-budget (priority 50') as unknown });
    expect(r.sandbox.world.campaigns.get(eids.cheap)?.budget_micros).toBe(10_000_000_000);
  });

  it('reject is recorded, and a rejected proposal blocks the rule until its time is up', async () => {
    const clock = new ManualClock(Date.now());
    r = await rig(engineFixture(), compiledFrom([scale()]), { realClock: clock });
    const { decisions } = await cycle(r, T0);
    const rejected = await rejectProposal(deps(r), ACCOUNT_ID, decisions[0]?.decision_id ?? '', { by: 'dana', note: 'not this week' });
    expect(rejected).toMatchObject({ status: 'rejected', proposal: { outcome: 'rejected', approval: { resolved_by: 'dana', note: 'not this week' } } });
    expect((await cycle(r, T0 + HOUR)).decisions).toMatchObject([{ outcome: 'skipped_cooldown' }]);
    expect((await cycle(r, T0 + 2 * HOUR)).decisions).toMatchObject([{ outcome: 'awaiting_approval' }]);
  });
});
