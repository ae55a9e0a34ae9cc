// A run forced to dry run (`run --dry-run`) beside a live process on one table: the forced run's
// records never share an id with a dry_run rule's own records of the live process (one would
// overwrite the other), and it leaves no memory that puts the live process's rules into cooldown.
import { afterEach, describe, expect, it } from 'vitest';
import { compiledFrom, rig, type Rig } from '../helpers/engine';
import { ACCOUNT_ID, eids, engineFixture } from '../helpers/fixtures';

const rules = () =>
  compiledFrom([
    { id: 'watch-cheap', mode: 'dry_run', schedule: { expression: 'rate(15 minutes)', timezone: 'UTC' }, level: 'campaign', scope: { ids: [eids.cheap] }, when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, guards: { cooldown: '6h' } },
  ]);

describe('a forced dry run beside a live process', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('keeps its own records and leaves the live process its cooldowns', async () => {
    r = await rig(engineFixture(), rules());
    const at = '2026-03-10T15:00:00Z';
    const forced = await r.engine().runCycle({ scheduledTime: at, mode: 'dry_run', scheduleId: 'tick', deadlineMs: Date.now() + 30_000 });
    const live = await r.engine().runCycle({ scheduledTime: at, scheduleId: 'tick', deadlineMs: Date.now() + 30_000 });
    expect(forced.decisions).toMatchObject([{ outcome: 'would_act' }]);
    expect(live.decisions).toMatchObject([{ outcome: 'would_act' }]);
    expect(forced.decisions[0]?.decision_id).not.toBe(live.decisions[0]?.decision_id);
    const records = await r.store.queryDecisions(ACCOUNT_ID, { ruleId: 'watch-cheap' });
    expect(new Set(records.map((d) => d.run_id))).toEqual(new Set([forced.summary.run_id, live.summary.run_id]));
  });

  it("a forced dry run's would_act does not cool down the live process's dry_run rule; each keeps its own", async () => {
    r = await rig(engineFixture(), rules());
    const forced = await r.engine().runCycle({ scheduledTime: '2026-03-10T15:00:00Z', mode: 'dry_run', scheduleId: 'tick', deadlineMs: Date.now() + 30_000 });
    expect(forced.decisions).toMatchObject([{ outcome: 'would_act' }]);
    r.sandbox.world.clock.advance(15 * 60);
    const live = await r.engine().runCycle({ scheduledTime: '2026-03-10T15:15:00Z', scheduleId: 'tick', deadlineMs: Date.now() + 30_000 });
    expect(live.decisions).toMatchObject([{ outcome: 'would_act' }]);
    r.sandbox.world.clock.advance(15 * 60);
    const forcedAgain = await r.engine().runCycle({ scheduledTime: '2026-03-10T15:30:00Z', mode: 'dry_run', scheduleId: 'tick', deadlineMs: Date.now() + 30_000 });
    expect(forcedAgain.decisions).toMatchObject([{ outcome: 'skipped_cooldown' }]);
  });
});
