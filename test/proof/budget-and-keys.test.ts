// The hour's request budget nearly spent, shared across processes, and a key rotated in the
// middle of a run: asserted from the sandbox's request log and rate-limit counters.
import { afterEach, describe, expect, it } from 'vitest';
import { READ_CONCURRENCY } from '../../functions/engine/reads';
import { ManualClock } from '../../functions/shared/clock';
import { keyFingerprint } from '../../functions/shared/secrets';
import { RequestBudget } from '../../functions/thrad/budget';
import { ThradClient } from '../../functions/thrad/client';
import type { ApiKeyProvider } from '../../functions/thrad/keys';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { engineRules, rig, statusCalls, type Rig } from '../helpers/engine';
import { recordingSleep } from '../helpers/sandbox';

const LIMIT = 12;

describe('the hourly request budget', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  async function setup(): Promise<{ rig: Rig; client: ThradClient }> {
    r = await rig(engineFixture({ behaviour: { requests_per_hour: LIMIT } }), engineRules());
    const clock = r.sandbox.world.clock;
    const client = new ThradClient({ baseUrl: r.sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(KEY), clock, sleep: recordingSleep(), budget: new RequestBudget(clock, { requestsPerHour: LIMIT }) });
    return { rig: r, client };
  }

  /** Requests the sandbox counted against the key this hour (every answered request but 429s). */
  const usage = (rig: Rig): number => rig.sandbox.requests().filter((q) => q.status !== 429).length;

  it('nearly spent: reads for the due rules first, then what actions fit; the rest is recorded, the limit never exceeded', async () => {
    const { rig: rr, client } = await setup();
    for (let i = 0; i < LIMIT - 7; i += 1) await client.getAdAccount(); // 5 used, 7 left
    const { summary } = await rr.engine({ client }).runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    // The account, the campaign list and 2 insights reads = 4; then 3 of the 4 action requests
    // (2 pauses, the activation's re-read and its call): 2 of the 3 actions.
    expect(statusCalls(rr.sandbox)).toHaveLength(2);
    expect(summary.counts).toMatchObject({ acted: 2, failed: 1 });
    const [failed] = await rr.store.queryDecisions(ACCOUNT_ID, { outcome: 'failed' });
    expect(failed?.api_result?.error_code).toBe('request_budget_exceeded');
    expect(failed?.reason).toMatch(/request budget is spent \(12\/12\); not called/);
    expect(rr.sandbox.requests().filter((q) => q.status === 429)).toEqual([]);
    expect(usage(rr)).toBeLessThanOrEqual(LIMIT);
    expect(summary.api_requests_remaining).toBe(0);
  });

  it('spent before the reads: the rules are data_unavailable with the budget error, and nothing is called', async () => {
    const { rig: rr, client } = await setup();
    for (let i = 0; i < LIMIT - 2; i += 1) await client.getAdAccount(); // 10 used, 2 left: the account and the list, no insights read
    const { summary } = await rr.engine({ client }).runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    const unavailable = await rr.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
    expect(unavailable.length).toBeGreaterThanOrEqual(1);
    for (const d of unavailable) expect(d.api_result?.error_code).toBe('request_budget_exceeded');
    // What the one read served may still decide, but its action finds no budget: never a 429.
    expect(statusCalls(rr.sandbox)).toEqual([]);
    expect(rr.sandbox.requests().filter((q) => q.status === 429)).toEqual([]);
    expect(usage(rr)).toBeLessThanOrEqual(LIMIT);
    expect(summary.status).toBe('completed');
  });

  it.each([
    ['the file order', {}, 'pause-expensive', 'activate-approved'],
    ['a higher priority later in the file', { 'activate-approved': { priority: 20 }, 'pause-expensive': { priority: 1 } }, 'activate-approved', 'pause-expensive'],
  ] as const)('a budget for one insights read serves the highest-priority rule first (%s)', async (_name, overrides, served, starved) => {
    r = await rig(engineFixture({ behaviour: { requests_per_hour: LIMIT } }), engineRules(overrides));
    const clock = r.sandbox.world.clock;
    const client = new ThradClient({ baseUrl: r.sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(KEY), clock, sleep: recordingSleep(), budget: new RequestBudget(clock, { requestsPerHour: LIMIT }) });
    for (let i = 0; i < LIMIT - 3; i += 1) await client.getAdAccount(); // 3 left: the account, the list and one insights read
    await r.engine({ client }).runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    const unavailable = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
    expect(unavailable.length).toBeGreaterThanOrEqual(1);
    for (const d of unavailable) {
      expect(d.rule_id).toBe(starved);
      expect(d.api_result?.error_code).toBe('request_budget_exceeded');
    }
    const all = await r.store.queryDecisions(ACCOUNT_ID, {});
    expect(all.filter((d) => d.rule_id === served).length).toBeGreaterThanOrEqual(1);
    expect(all.filter((d) => d.rule_id === served && d.outcome === 'data_unavailable')).toEqual([]);
    expect(usage(r)).toBeLessThanOrEqual(LIMIT);
  });

  it('is shared across processes through the ledger: a second engine spends only what the first left', async () => {
    const { rig: rr, client } = await setup();
    await rr.engine({ client }).runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' }); // 8 requests
    rr.sandbox.reset(engineFixture({ behaviour: { requests_per_hour: LIMIT } }));
    // The sandbox forgot its counts on reset: only the shared ledger can stop this second engine
    // (another process, its own client) from spending the same hour again.
    const other = new ThradClient({ baseUrl: rr.sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(KEY), clock: rr.sandbox.world.clock, sleep: recordingSleep(), budget: new RequestBudget(rr.sandbox.world.clock, { requestsPerHour: LIMIT }) });
    const { summary } = await rr.engine({ client: other, accountId: ACCOUNT_ID }).runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    // The second engine counts the first one's 8 requests as its own hour's.
    expect((await other.budgetSnapshot()).used).toBe(8 + summary.api_requests);
    expect(summary.api_requests).toBeLessThanOrEqual(LIMIT - 8);
  });
});

describe('key rotation in the middle of a run', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('the run completes with the new key and nothing is lost', async () => {
    r = await rig(engineFixture({ behaviour: { key_rotation_grace_seconds: 0 } }), engineRules());
    const sandbox = r.sandbox;
    // The secret as Secrets Manager would hold it, behind a cache.
    const secret = { value: KEY };
    let cached = KEY;
    let refreshes = 0;
    const provider: ApiKeyProvider = {
      source: 'a rotating secret',
      getKey: () => Promise.resolve(cached),
      refresh: () => {
        refreshes += 1;
        cached = secret.value;
        return Promise.resolve(cached);
      },
    };
    let rotated = false;
    const client = new ThradClient({
      baseUrl: sandbox.apiUrl,
      keyProvider: provider,
      clock: sandbox.world.clock,
      sleep: recordingSleep(),
      onEvent: (event) => {
        // Right after the campaign list, an admin rotates the key (the old one stops at once).
        if (!rotated && event.operation === 'GET /campaigns') {
          rotated = true;
          secret.value = sandbox.world.rotateKey('ak_test_rotated_mid_run_0001').key;
        }
      },
    });
    const { summary } = await r.engine({ client, realClock: new ManualClock(Date.now()) }).runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    expect(summary.counts).toMatchObject({ acted: 3 });
    expect(summary.counts.failed).toBeUndefined();
    expect(summary.counts.data_unavailable).toBeUndefined();
    expect(refreshes).toBe(1);
    const log = sandbox.requests();
    // The reads in flight when the key stopped are each refused once (two at a time); they share
    // one refresh of the secret, and nothing is refused after it.
    const refused = log.filter((q) => q.status === 401);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(READ_CONCURRENCY);
    for (const q of refused) expect(q.error_code).toBe('invalid_api_key');
    expect(log.slice(log.lastIndexOf(refused.at(-1) ?? log[0]) + 1).every((q) => q.key_fingerprint === keyFingerprint('ak_test_rotated_mid_run_0001'))).toBe(true);
    expect(new Set(log.map((q) => q.key_fingerprint))).toEqual(new Set([keyFingerprint(KEY), keyFingerprint('ak_test_rotated_mid_run_0001')]));
    expect(statusCalls(sandbox).map((c) => c.path).sort()).toEqual([`/v1/campaigns/${eids.approved}/activate`, `/v1/campaigns/${eids.expensive}/pause`, `/v1/campaigns/${eids.night}/pause`].sort());
  });
});
