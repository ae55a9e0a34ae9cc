// Undo against the sandbox and dynalite: an undo is an action like any other, so one whose answer
// is lost (the call landed, the connection dropped) is never recorded as failed; the next run's
// reconciliation reads the entity and records what happened.
import { afterEach, describe, expect, it } from 'vitest';
import { undoDecision } from '../../functions/engine/undo';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { engineRules, rig, statusCalls, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';

const deadline = (): number => Date.now() + 60_000;

describe('undoDecision', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('leaves an undo whose call may have landed unconfirmed, and the next run records it as acted', async () => {
    r = await rig(engineFixture(), engineRules());
    const first = await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    const pause = first.decisions.find((d) => d.rule_id === 'pause-expensive');
    expect(pause).toMatchObject({ outcome: 'acted', status_after: 'paused' });

    // Every activate of that campaign lands, then its connection drops before the answer.
    r.sandbox.setFaults({ rate: 1, kinds: ['reset'], path_pattern: `${eids.expensive}/activate$`, phase: 'after' });
    const client = clientFor(r.sandbox, { keyProvider: new StaticApiKeyProvider(KEY) });
    const result = await undoDecision({ client, store: r.store, clock: r.sandbox.world.clock }, ACCOUNT_ID, pause?.decision_id ?? '', { deadlineMs: deadline() });

    expect(result.status).toBe('unconfirmed');
    expect(r.sandbox.world.campaigns.get(eids.expensive)?.status).toBe('active');
    expect(statusCalls(r.sandbox).filter((c) => c.path.endsWith(`${eids.expensive}/activate`) && c.effect)).toHaveLength(1);
    const [pending] = await r.store.queryDecisions(ACCOUNT_ID, { ruleId: 'manual-undo' });
    // Not "failed": the campaign is active, and the audit trail must not say otherwise.
    expect(pending).toMatchObject({ outcome: 'pending', undoes: pause?.decision_id, action: 'activate' });

    r.sandbox.setFaults({ rate: 0 });
    r.sandbox.world.clock.advance(15 * 60);
    const next = await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:15:00Z' });
    expect(next.summary.counts.reconciled).toBe(1);
    const [settled] = await r.store.queryDecisions(ACCOUNT_ID, { ruleId: 'manual-undo' });
    expect(settled).toMatchObject({ outcome: 'acted', status_before: 'paused', status_after: 'active', api_result: { confirmed_by: 'reconciled' } });
    // What the run reports (console, digest) is what it stored.
    expect(next.decisions.find((d) => d.rule_id === 'manual-undo')).toEqual(settled);
  });
});
