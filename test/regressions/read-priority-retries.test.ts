// Found by a review of the two-wide insights reads: a priority-10 rule that would hold a campaign
// paused lost its read to the budget, because a priority-0 activation's read ran beside it and the
// high-priority read's retries took requests the page estimate had not counted; the activation then
// started spend once the rolling hour freed two requests. A read now runs beside another only when
// the budget covers every attempt of every page of both.
import { afterEach, expect, it } from 'vitest';
import { keyFingerprint } from '../../functions/shared/secrets';
import { RequestBudget } from '../../functions/thrad/budget';
import { ApiError } from '../../sandbox/errors';
import { compiledFrom, rig, statusCalls, type Rig } from '../helpers/engine';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { clientFor } from '../helpers/sandbox';

let r: Rig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});
const base = { mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'campaign' } as const;

it('a higher-priority pause loses its data to a lower-priority read started beside it, and the activation goes through', async () => {
  r = await rig(engineFixture(), compiledFrom([
    // Priority 10: keep a campaign with no clicks in the last 3 days paused (wins over any activation in the run).
    { ...base, id: 'hold-unproven', scope: { ids: [eids.approved] }, when: { metric: 'clicks', window: 'last_3_days', op: 'eq', value: 0 }, then: { action: 'pause' }, priority: 10 },
    // Priority 0: launch approved campaigns that never delivered.
    { ...base, id: 'activate-approved', when: { all: [{ field: 'review_status', op: 'eq', value: 'approved' }, { field: 'status', op: 'eq', value: 'paused' }, { metric: 'impressions', window: 'lifetime', op: 'eq', value: 0 }] }, then: { action: 'activate' }, guards: { cooldown: 'forever' } },
  ]));
  const clock = r.sandbox.world.clock;
  let faults = 4;
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : input.toString();
    if (url.includes('/insights') && url.includes('clicks') && faults > 0) {
      faults -= 1; // the priority-10 read's page meets four transient 503s (its fifth attempt would answer)
      return new Response(JSON.stringify(new ApiError(503, 'api_error', 'service_unavailable', 'temporarily unavailable').body()), { status: 503, headers: { 'Content-Type': 'application/json' } });
    }
    return fetch(input, init);
  }) as typeof fetch;
  const budget = new RequestBudget(clock, { requestsPerHour: 9 });
  // Two requests of another process, made just under an hour ago: they leave the window in 1 s.
  budget.recordExternal(keyFingerprint(KEY), [clock.nowMs() - 3_600_000 + 1_000, clock.nowMs() - 3_600_000 + 1_000]);
  const client = clientFor(r.sandbox, { budget, fetch: fetchImpl });
  // Time passes between the decision and the call (2 s): the rolling hour frees those two requests.
  const engine = r.engine({ client, crashPoints: { afterIntent: () => clock.advance(2) } });
  await engine.runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
  // Expected (the reads one after another, as before the change): hold-unproven has its data and
  // wins; the activation's read is the one the budget refuses; nothing starts spend.
  expect(statusCalls(r.sandbox).filter((c) => c.path.endsWith('/activate'))).toEqual([]);
  expect(r.sandbox.world.campaigns.get(eids.approved)?.status).toBe('paused');
  const decisions = await r.store.queryDecisions(ACCOUNT_ID, {});
  expect(decisions.filter((d) => d.rule_id === 'hold-unproven').map((d) => d.outcome)).not.toContain('data_unavailable');
});
