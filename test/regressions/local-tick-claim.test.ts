// Regression, found by an adversarial review (it failed before the fix): the local runner claims every tick as
// (`local-tick`, time, mode), whatever rules are due. Two autopilot processes sharing one table
// (README: "Several autopilot processes can share one table") with different rule folders — or the
// same folder during a restart with a new rule — collide: whichever claims 22:00 first runs its
// rules, and the other skips the whole tick as a duplicate. Its night pause never happens.
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_TICK_SCHEDULE_ID } from '../../functions/cli/run';
import { eids, engineFixture } from '../helpers/fixtures';
import { compiledFrom, engineRuleInputs, rig, type Rig } from '../helpers/engine';

describe('regression: local tick claims ignore which rules are due', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('a second process with other rules still runs its rules at the same instant', async () => {
    const inputs = engineRuleInputs();
    const processA = compiledFrom(inputs.filter((x) => x.id === 'pause-expensive'));
    const processB = compiledFrom(inputs.filter((x) => x.id === 'night-pause'));
    r = await rig(engineFixture(), compiledFrom(inputs));
    const tick = { scheduledTime: '2026-03-10T15:00:00Z', scheduleId: LOCAL_TICK_SCHEDULE_ID, deadlineMs: Date.now() + 30_000, trigger: 'local' as const };
    const a = await r.engine({ rules: processA }).runCycle(tick);
    expect(a.summary.counts.acted).toBe(1);
    const b = await r.engine({ rules: processB }).runCycle(tick);
    expect(b.summary.status).toBe('completed');
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });
});
