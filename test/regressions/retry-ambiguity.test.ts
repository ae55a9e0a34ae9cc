// Regression, found by an adversarial review (it failed before the fix): a status call whose first attempt failed in a way that may
// or may not have landed (a reset), retried, and answered "already paused" (campaign_not_running)
// is recorded as the rule's own change ("acted", confirmed by a state read) and the rule takes
// the hold — even when the first attempt never landed and a person paused the campaign between
// the attempts. The morning resume then reverses the person's pause. When the engine cannot tell
// whose change it is, it must not give itself the hold (README: it does not start spend it cannot
// account for).
import { afterEach, describe, expect, it } from 'vitest';
import type { Sleep } from '../../functions/shared/clock';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { eids, engineFixture, KEY } from '../helpers/fixtures';
import { compiledFrom, rig, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';

const ny = { expression: 'rate(15 minutes)', timezone: 'America/New_York' };
const rules = () =>
  compiledFrom([
    { id: 'night-pause', mode: 'live', schedule: ny, level: 'campaign', scope: { name_contains: '[night]' }, when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, priority: 10 },
    { id: 'morning', mode: 'live', schedule: ny, level: 'campaign', scope: { name_contains: '[night]' }, when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['night-pause'] }, priority: 5 },
  ]);

describe('regression: an ambiguous retry is recorded as the rule\'s change', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('a person pauses between a reset (before it took effect) and the retry: the morning resume leaves it alone', async () => {
    r = await rig(engineFixture(), rules());
    const sandbox = r.sandbox;
    // The first /pause attempt is reset before it takes effect.
    sandbox.setFaults({ rate: 1, kinds: ['reset'], phase: 'before', path_pattern: `${eids.night}/pause$`, limit: 1 });
    // While the client backs off, a person pauses the campaign in the dashboard.
    let personActed = false;
    const sleep = (() => {
      if (!personActed) {
        personActed = true;
        sandbox.world.clock.advance(1);
        sandbox.world.campaignAction(eids.night, 'pause');
      }
      return Promise.resolve();
    }) as Sleep;
    const client = clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(KEY), sleep });
    const night = await r.engine({ client }).runCycle({ ruleIds: ['night-pause'], deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    const d = night.decisions.find((x) => x.entity_id === eids.night);
    expect(personActed).toBe(true);
    // The API never answered 200 to a pause of ours (attempt 1 reset, attempt 2 400 campaign_not_running).
    expect(d?.api_result?.http_status).not.toBe(200);
    // No attempt of ours landed: the pause is the person's.
    expect(sandbox.requests().filter((q) => q.path.endsWith(`${eids.night}/pause`) && q.effect)).toEqual([]);
    sandbox.world.clock.advance(9 * 3_600);
    const morning = await r.engine().runCycle({ ruleIds: ['morning'], deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-11T00:00:00Z' });
    expect(morning.decisions.find((x) => x.entity_id === eids.night)?.outcome).not.toBe('acted');
    expect(sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });
});
