// Regression, found by an adversarial review (it failed before the fix): on AWS every (expression, time zone) group is its own
// EventBridge schedule, so at 22:00 New York time daypart-pause (cron group) and activate-approved
// (rate(5 minutes) group) are two Lambda invocations running at the same time, not one cycle as in
// the local runner and `simulate`. The assertion hold daypart-pause takes is invisible to the
// activate-approved run that already decided, and its re-check compares only status/updated_at:
// a [daypart] campaign approved at 21:58 is launched at 22:00 and runs all night.
// The interleaving (activate-approved decided and wrote its intent; daypart-pause runs its whole
// cycle; then activate-approved re-checks and calls) is what two concurrent invocations do.
import { afterEach, describe, expect, it } from 'vitest';
import { scheduleGroups } from '../../functions/rules/groups';
import { exampleRules, rig, type Rig } from '../helpers/engine';
import { SIM_NOW, simCampaign, simFixture } from '../helpers/sim';
import { loadRules } from '../../functions/rules/validate';
import { RULES_DIR } from '../helpers/engine';
import { simulate } from '../helpers/sim';
import { KEY } from '../helpers/fixtures';

const X = 'da000000-0000-4000-8000-000000000001';
const AT_22 = (SIM_NOW + 600) * 1000; // 22:00 EST

describe('regression: coincident schedules on AWS are separate runs', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('simulate (one tick) holds it for the night', async () => {
    const fixture = simFixture([{ id: X, name: 'Lamps [daypart] Launch', status: 'paused', review_status: 'approved', createdDaysAgo: 1, impressionsPerHour: 500 }]);
    const result = await simulate(fixture, exampleRules(), 60);
    expect(result.final.campaigns.find((c) => c.id === X)?.status).toBe('paused');
  });

  it('two concurrent invocations at 22:00 (daypart-pause group, activate-approved group) leave it paused for the night', async () => {
    const fixture = { ...simFixture([]), api_keys: [KEY], now: AT_22 / 1000, campaigns: [simCampaign({ id: X, name: 'Lamps [daypart] Launch', status: 'paused', review_status: 'approved', createdDaysAgo: 1, impressionsPerHour: 500 })] };
    r = await rig(fixture, exampleRules());
    const groups = scheduleGroups(loadRules([RULES_DIR]).rules.map((x) => x.rule));
    const daypart = groups.find((g) => g.ruleIds.includes('daypart-pause'))!;
    const launch = groups.find((g) => g.ruleIds.includes('activate-approved'))!;
    const deadlineMs = Date.now() + 60_000;
    let daypartRun: Promise<unknown> | undefined;
    const launcher = r.engine({
      crashPoints: {
        // The other invocation runs while this one is between its decision and its call.
        afterIntent: async () => {
          daypartRun ??= r!.engine().runCycle({ ruleIds: daypart.ruleIds, scheduleId: daypart.id, scheduledTime: AT_22, deadlineMs, trigger: 'schedule' });
          await daypartRun;
        },
      },
    });
    const launched = await launcher.runCycle({ ruleIds: launch.ruleIds, scheduleId: launch.id, scheduledTime: AT_22, deadlineMs, trigger: 'schedule' });
    const dp = (await daypartRun) as { decisions: { rule_id: string; entity_id: string; outcome: string; reason: string }[] } | undefined;
    expect(launched.summary.status).toBe('completed');
    // The launch re-checks the hold the other run took meanwhile, and stands down.
    expect(launched.decisions.find((d) => d.entity_id === X)).toMatchObject({ rule_id: 'activate-approved', outcome: 'skipped_conflict', reason: expect.stringContaining('daypart-pause') as unknown });
    expect(dp?.decisions.find((d) => d.entity_id === X)?.rule_id).toBe('daypart-pause');
    r.sandbox.world.clock.advance(3_600);
    expect(r.sandbox.world.campaigns.get(X)?.status).toBe('paused');
  });

  it('two concurrent pauses at 22:00 (cpc-guard group, daypart-pause group): neither is recorded as a person\'s change', async () => {
    // 50 clicks a day at $3: cpc-guard matches; the [daypart] name: daypart-pause matches.
    const fixture = { ...simFixture([]), api_keys: [KEY], now: AT_22 / 1000, campaigns: [simCampaign({ id: X, name: 'Trail [daypart] Expensive', budgetUsd: 100_000, spentUsd: 1_500, days: 10, cpcUsd: 3, impressionsPerHour: 500 })] };
    r = await rig(fixture, exampleRules());
    const groups = scheduleGroups(loadRules([RULES_DIR]).rules.map((x) => x.rule));
    const daypart = groups.find((g) => g.ruleIds.includes('daypart-pause'))!;
    const cpc = groups.find((g) => g.ruleIds.includes('cpc-guard'))!;
    const deadlineMs = Date.now() + 60_000;
    let daypartRun: Promise<{ decisions: { rule_id: string; entity_id: string; outcome: string; reason: string; holder: unknown }[] }> | undefined;
    const first = r.engine({
      crashPoints: {
        afterIntent: async () => {
          daypartRun ??= r!.engine().runCycle({ ruleIds: daypart.ruleIds, scheduleId: daypart.id, scheduledTime: AT_22, deadlineMs, trigger: 'schedule' });
          await daypartRun;
        },
      },
    });
    const c = await first.runCycle({ ruleIds: cpc.ruleIds, scheduleId: cpc.id, scheduledTime: AT_22, deadlineMs, trigger: 'schedule' });
    const dp = await daypartRun!;
    const all = [...dp.decisions, ...c.decisions].filter((d) => d.entity_id === X);
    const memory = (await r.store.entityMemories(fixture.account.id, [X])).get(X);
    // Both were the autopilot's rules: the holder must not be "a person or another tool".
    expect(memory?.holders.status?.kind).not.toBe('person');
    for (const d of all) expect(d.reason).not.toMatch(/someone else/);
  });
});
