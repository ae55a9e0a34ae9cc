// Regression, found by an adversarial review (it failed before the fix): reconciliation of a crashed intent records the rule's change
// ("acted") and gives the rule the hold whenever the entity is found in the target state, without
// asking who put it there. A person's pause is then laundered into the night rule's hold, and the
// morning resume (only_if_paused_by) reverses the person's pause — in the same run as the
// reconciliation.
import { afterEach, describe, expect, it } from 'vitest';
import { undoDecision } from '../../functions/engine/undo';
import { ManualClock } from '../../functions/shared/clock';
import { ACCOUNT_ID, eids, engineFixture } from '../helpers/fixtures';
import { compiledFrom, rig, statusCalls, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';

const ny = { expression: 'rate(15 minutes)', timezone: 'America/New_York' };
const rules = () =>
  compiledFrom([
    { id: 'night-pause', mode: 'live', schedule: ny, level: 'campaign', scope: { name_contains: '[night]' }, when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, priority: 10 },
    { id: 'morning', mode: 'live', schedule: ny, level: 'campaign', scope: { name_contains: '[night]' }, when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['night-pause'] }, priority: 5 },
  ]);

describe('regression: reconciliation hands a person\'s pause to the rule', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('crash after the intent, before the call; a person pauses; the reconciled intent is not "acted" and the resume leaves it alone', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), rules(), { realClock: real });
    const crashing = r.engine({ crashPoints: { afterIntent: () => { throw new Error('process killed'); } } });
    await crashing.runCycle({ ruleIds: ['night-pause'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    expect(statusCalls(r.sandbox)).toEqual([]); // the engine never called
    // A person pauses it (say, for good) before the next run.
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.night, 'pause');
    r.sandbox.world.clock.advance(13 * 60);
    real.advance(60_000);
    const next = await r.engine().runCycle({ ruleIds: ['morning'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    const trail = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.night });
    const reconciled = trail.find((d) => d.rule_id === 'night-pause');
    // The engine made no pause call: it must not record one as its own.
    expect(statusCalls(r.sandbox).filter((c) => c.path.endsWith('/pause'))).toEqual([]);
    expect(reconciled?.outcome).not.toBe('acted');
    // And the person's pause is never reversed.
    expect(next.decisions.find((d) => d.rule_id === 'morning')?.outcome).not.toBe('acted');
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });

  it('crash after the call; a person activates and pauses it again; the resume does not reverse the person\'s pause', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), rules(), { realClock: real });
    const crashing = r.engine({ crashPoints: { afterCall: () => { throw new Error('process killed'); } } });
    await crashing.runCycle({ ruleIds: ['night-pause'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.night, 'activate');
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.night, 'pause');
    r.sandbox.world.clock.advance(11 * 60);
    real.advance(60_000);
    const next = await r.engine().runCycle({ ruleIds: ['morning'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    const trail = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.night });
    // The reconciled pause credits nobody: the person's change since cannot be told from it.
    expect(trail.find((d) => d.rule_id === 'night-pause')?.reason ?? '').toMatch(/cannot be told/);
    expect(next.decisions.find((d) => d.rule_id === 'morning')?.outcome).not.toBe('acted');
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });

  it('the pause call\'s answers are lost (resets after it landed); a person activates and pauses it again; the resume does not reverse the person\'s pause', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), rules(), { realClock: real });
    r.sandbox.setFaults({ rate: 1, kinds: ['reset'], phase: 'after', path_pattern: `${eids.night}/pause$`, limit: 50 });
    const night = await r.engine().runCycle({ ruleIds: ['night-pause'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    expect(night.summary.counts.unconfirmed).toBe(1);
    r.sandbox.setFaults({ rate: 0 });
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.night, 'activate');
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.night, 'pause');
    r.sandbox.world.clock.advance(11 * 60);
    real.advance(60_000);
    const next = await r.engine().runCycle({ ruleIds: ['morning'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    const trail = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.night });
    // The reconciled pause credits nobody: the person's change since cannot be told from it.
    expect(trail.find((d) => d.rule_id === 'night-pause')?.reason ?? '').toMatch(/cannot be told/);
    expect(next.decisions.find((d) => d.rule_id === 'morning')?.outcome).not.toBe('acted');
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });

  it('undo of the reconciled "acted" record (a call that never happened) does not reverse the person\'s pause', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), rules(), { realClock: real });
    const crashing = r.engine({ crashPoints: { afterIntent: () => { throw new Error('process killed'); } } });
    await crashing.runCycle({ ruleIds: ['night-pause'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.night, 'pause');
    r.sandbox.world.clock.advance(13 * 60);
    real.advance(60_000);
    // Any run reconciles (here the night rule's next occurrence, which matches nothing now).
    await r.engine().runCycle({ ruleIds: ['night-pause'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    const [reconciled] = (await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.night })).filter((d) => d.rule_id === 'night-pause');
    const undone = await undoDecision({ client: clientFor(r.sandbox), store: r.store, clock: r.sandbox.world.clock }, ACCOUNT_ID, reconciled?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(undone.status).not.toBe('undone');
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });
});
