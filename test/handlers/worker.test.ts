// The planner and the worker end to end: the registry in dynalite, the planner's messages through
// an in-process FIFO queue behind the real SQSClient, the worker over real HTTP against two
// sandboxes (two organizations, each with its own key, ad account and campaigns), keys from a
// mocked Secrets Manager (nothing like it runs here). At 22:00 New York two schedules coincide:
// each org gets one message and one cycle for both rules (one list, one read per window), claimed
// per (org, tick); a redelivered message does nothing twice, a stale tick is recorded and skipped,
// a disabled org does nothing, and one org's revoked key fails only its own message.
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { HandlerConfigError } from '../../functions/handlers/errors';
import { createPlannerHandler } from '../../functions/handlers/planner';
import { createWorkerHandler, type WorkerHandler } from '../../functions/handlers/worker';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { OrgEntry } from '../../functions/orgs/schema';
import { TableOrgRegistry } from '../../functions/orgs/table';
import { scheduleGroupId } from '../../functions/rules/groups';
import { ManualClock } from '../../functions/shared/clock';
import { keyFingerprint } from '../../functions/shared/secrets';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { eventOf, FakeFifoQueue, recordOf, type QueuedMessage } from '../helpers/fifo-queue';
import { deployedRules, NY_22 } from './deployment';

const KEY_B = 'ak_test_b2b2b2b2b2b2b2b2';
const ACCOUNT_B = '4c1f9a8b-2d3e-4f60-9bac-1d2e3f4a5b6c';
const REVOKED = 'ak_test_revoked_00000000';
const secretOf = (orgId: string) => `thrad-rules/orgs/${orgId}`;
const org = (id: string, account: string): OrgEntry => ({ org_id: id, api_key_secret_id: secretOf(id), ad_account_id: account, enabled: true });
const context = { getRemainingTimeInMillis: () => 120_000, awsRequestId: 'req-1' };

describe('planner → tick queue → worker', () => {
  let acme: Sandbox;
  let beta: Sandbox;
  let dynamo: EmbeddedDynamo;
  let tableName: string;
  let registry: TableOrgRegistry;
  let queue: FakeFifoQueue;
  let output: string[];
  const secrets = mockClient(SecretsManagerClient);
  const keys = new Map<string, string>();
  const clock = new ManualClock(NY_22 + 20_000);

  /** Each key reaches its own organization's sandbox (one API, one organization per key). */
  const route: typeof fetch = (input, init) => {
    const auth = new Headers(init?.headers).get('authorization') ?? '';
    const url = String(input instanceof Request ? input.url : input);
    const target = auth.endsWith(KEY_B) ? beta : acme;
    return fetch(url.replace(acme.apiUrl, target.apiUrl), init);
  };

  beforeAll(async () => {
    const now = Math.floor((NY_22 + 20_000) / 1000);
    acme = await startSandbox({ fixture: engineFixture({}, now), port: 0 });
    beta = await startSandbox({ fixture: engineFixture({ api_keys: [KEY_B], account: { id: ACCOUNT_B, name: 'Beta Co', url: 'https://beta.example' } }, now), port: 0 });
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    secrets.restore();
    await acme.close();
    await beta.close();
    await dynamo.close();
  });
  beforeEach(async () => {
    const now = Math.floor((NY_22 + 20_000) / 1000);
    acme.reset(engineFixture({}, now));
    beta.reset(engineFixture({ api_keys: [KEY_B], account: { id: ACCOUNT_B, name: 'Beta Co', url: 'https://beta.example' } }, now));
    clock.set(NY_22 + 20_000);
    tableName = `fleet-${randomBytes(4).toString('hex')}`;
    await new AuditStore({ tableName, client: dynamo.client }).ensureTable();
    registry = new TableOrgRegistry({ tableName, client: dynamo.client });
    await registry.add(org('acme', ACCOUNT_ID));
    await registry.add(org('beta', ACCOUNT_B));
    queue = new FakeFifoQueue(clock);
    keys.clear();
    keys.set(secretOf('acme'), KEY);
    keys.set(secretOf('beta'), KEY_B);
    keys.set('thrad/api-key', KEY);
    secrets.reset();
    secrets.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
      const key = keys.get(input.SecretId);
      if (key === undefined) throw Object.assign(new Error('Secrets Manager can not find the specified secret.'), { name: 'ResourceNotFoundException' });
      return { SecretString: JSON.stringify({ api_key: key }) };
    });
    output = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(String(chunk));
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    queue.restore();
  });

  const env = (extra: Record<string, string> = {}) => ({
    AUDIT_TABLE_NAME: tableName,
    TICK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ticks.fifo',
    THRAD_API_BASE_URL: acme.apiUrl,
    THRAD_RULES_JSON: JSON.stringify(deployedRules()),
    THRAD_ORG_SECRET_PREFIX: 'thrad-rules/orgs/',
    ORGS_CACHE_SECONDS: '0',
    POWERTOOLS_SERVICE_NAME: 'thrad-autopilot',
    ...extra,
  });
  const logger = () => new Logger({ serviceName: 'thrad-autopilot', logLevel: 'INFO' });
  const plan = async (tickMs: number, extra: Record<string, string> = {}): Promise<QueuedMessage[]> => {
    await createPlannerHandler({ env: env(extra), dynamo: dynamo.client, sqs: queue.client, logger: logger(), sleep: () => Promise.resolve() })({ scheduled_time: new Date(tickMs).toISOString() }, context);
    return queue.take();
  };
  const workerWith = (extra: Record<string, string> = {}): WorkerHandler => createWorkerHandler({ env: env(extra), dynamo: dynamo.client, secrets: new SecretsManagerClient({ region: 'us-east-1' }), fetch: route, clock, logger: logger() });
  const store = () => new AuditStore({ tableName, client: dynamo.client });
  const posts = (sandbox: Sandbox) => sandbox.requests().filter((r) => r.method === 'POST').map((r) => r.path);
  const gets = (sandbox: Sandbox, path: string) => sandbox.requests().filter((r) => r.method === 'GET' && r.path.startsWith(path)).length;

  it('runs one cycle per org for every rule due at the tick, with its own key, account and ledger', async () => {
    const messages = await plan(NY_22);
    expect(messages.map((m) => m.groupId)).toEqual(['acme', 'beta']);
    const worker = workerWith();
    for (const message of messages) expect(await worker(eventOf(recordOf(message)), context)).toEqual({ batchItemFailures: [] });
    vi.restoreAllMocks();
    for (const [sandbox, account] of [[acme, ACCOUNT_ID], [beta, ACCOUNT_B]] as const) {
      // Both coincident rules acted in one cycle: one campaign list, one insights read for the one window.
      expect(posts(sandbox).sort()).toEqual([`/v1/campaigns/${eids.expensive}/pause`, `/v1/campaigns/${eids.night}/pause`].sort());
      expect(gets(sandbox, '/v1/campaigns')).toBe(1);
      expect(gets(sandbox, '/v1/ad_account/insights')).toBe(1);
      const runs = await store().listRuns(account, { sinceMs: NY_22 - 3_600_000, untilMs: NY_22 + 3_600_000 });
      expect(runs.map((r) => [r.schedule_id, r.scheduled_time, r.status, r.rule_ids.join(','), r.trigger])).toEqual([['tick', '2026-11-24T03:00:00.000Z', 'completed', 'night-pause,pause-expensive', 'schedule']]);
      const decisions = await store().queryDecisions(account, { runId: runs[0]?.run_id });
      expect(decisions.map((d) => `${d.rule_id}:${d.entity_id}:${d.outcome}`).sort()).toEqual([`night-pause:${eids.night}:acted`, `pause-expensive:${eids.expensive}:acted`]);
      expect(decisions.every((d) => d.account_id === account)).toBe(true);
    }
    // Each key has its own ledger, under its own account.
    const ledgerStore = new AuditStore({ tableName, client: dynamo.client, clock });
    const ledger = async (account: string, key: string) => (await ledgerStore.recentRequests(account, keyFingerprint(key))).reduce((sum, e) => sum + e.count, 0);
    expect(await ledger(ACCOUNT_ID, KEY)).toBeGreaterThan(0);
    expect(await ledger(ACCOUNT_B, KEY_B)).toBeGreaterThan(0);
    expect(await ledger(ACCOUNT_ID, KEY_B)).toBe(0);
    // Logs carry the org; EMF metrics per run; never a key.
    const text = output.join('');
    expect(text).toContain('"org_id":"beta"');
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => '_aws' in line && 'Actions' in line);
    expect(emf.map((m) => [m.org_id, m.Actions, m.ActionFailures])).toEqual([['acme', 2, 0], ['beta', 2, 0]]);
    // One CompletedRuns datum per schedule group a completed run served (the RuleDidNotRun alarms' metric).
    const completed = output.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => '_aws' in line && 'CompletedRuns' in line);
    const [every15, at22] = [scheduleGroupId('rate(15 minutes)', 'America/New_York'), scheduleGroupId('cron(0 22 * * ? *)', 'America/New_York')];
    const perRun = [every15, at22].sort().map((id) => [id, 'thrad-autopilot', 1]);
    expect(completed.map((m) => [m.schedule, m.service, m.CompletedRuns])).toEqual([...perRun, ...perRun]);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(KEY_B);
  });

  it('posts each run that acted to the webhook whose URL is in its secret, and records it in the run summary', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'thrad-rules/webhook' }).resolves({ SecretString: '{"url": "https://hooks.example.com/services/T/B/secretpath"}' });
    const received: { url: string; body: string }[] = [];
    const webhookFetch = ((url: URL, init: RequestInit) => {
      received.push({ url: String(url), body: typeof init.body === 'string' ? init.body : '' });
      return Promise.resolve(new Response('ok', { status: 200 }));
    }) as typeof fetch;
    const messages = (await plan(NY_22)).filter((m) => m.groupId === 'acme');
    const worker = createWorkerHandler({ env: env({ THRAD_RULES_WEBHOOK_SECRET_ID: 'thrad-rules/webhook' }), dynamo: dynamo.client, secrets: new SecretsManagerClient({ region: 'us-east-1' }), fetch: route, webhookFetch, clock, logger: logger() });
    for (const message of messages) expect(await worker(eventOf(recordOf(message)), context)).toEqual({ batchItemFailures: [] });
    vi.restoreAllMocks();
    expect(received.map((r) => r.url)).toEqual(['https://hooks.example.com/services/T/B/secretpath']);
    const payload = JSON.parse(received[0]?.body ?? '{}') as { text: string; blocks: unknown[] };
    expect(payload.text).toContain('paused campaign "Expensive Shoes" [pause-expensive]');
    expect(payload.blocks.length).toBeGreaterThan(0);
    expect(received[0]?.body).not.toContain(KEY);
    const [run] = await store().listRuns(ACCOUNT_ID, { sinceMs: NY_22 - 3_600_000, untilMs: NY_22 + 3_600_000 });
    expect(run?.notifications).toEqual([{ channel: 'webhook', kind: 'digest', status: 'sent', attempts: 1, http_status: 200, error: null }]);
    expect(output.join('')).not.toContain('secretpath');
  });

  it('a redelivered message does nothing twice (claimed per org and tick)', async () => {
    const [message] = (await plan(NY_22)).filter((m) => m.groupId === 'acme');
    if (!message) throw new Error('no message for acme');
    const worker = workerWith();
    await worker(eventOf(recordOf(message)), context);
    await worker(eventOf(recordOf(message, 2)), context);
    // A fresh container (no memory of the first run) finds the claim too.
    await workerWith()(eventOf(recordOf(message, 3)), context);
    vi.restoreAllMocks();
    expect(posts(acme)).toHaveLength(2);
    const runs = await store().listRuns(ACCOUNT_ID, { sinceMs: NY_22 - 3_600_000, untilMs: NY_22 + 3_600_000 });
    expect(runs.map((r) => r.status).sort()).toEqual(['completed', 'skipped_duplicate', 'skipped_duplicate']);
  });

  it('skips and records a tick delivered later than its rules\' shortest period, calling nothing', async () => {
    const [message] = (await plan(NY_22)).filter((m) => m.groupId === 'beta');
    if (!message) throw new Error('no message for beta');
    clock.set(NY_22 + 901_000);
    const result = await workerWith()(eventOf(recordOf(message)), context);
    vi.restoreAllMocks();
    expect(result).toEqual({ batchItemFailures: [] });
    expect(beta.requests()).toEqual([]);
    const runs = await store().listRuns(ACCOUNT_B, { sinceMs: NY_22 - 3_600_000, untilMs: NY_22 + 3_600_000 });
    expect(runs).toMatchObject([{ run_id: `run_stale_${NY_22}`, status: 'skipped_stale', schedule_id: 'tick', scheduled_time: '2026-11-24T03:00:00.000Z', rule_ids: ['night-pause', 'pause-expensive'], errors: [{ code: 'stale_event', message: 'Delivered 901 s after its tick, more than the shortest period of its rules (900 s); skipped' }] }]);
  });

  it('a disabled org gets no message, and a message queued before it was disabled does nothing', async () => {
    const queued = await plan(NY_22);
    await registry.setEnabled('beta', false);
    expect((await plan(NY_22 + 15 * 60_000)).map((m) => m.groupId)).toEqual(['acme']);
    const worker = workerWith();
    const old = queued.find((m) => m.groupId === 'beta');
    if (!old) throw new Error('no message for beta');
    expect(await worker(eventOf(recordOf(old)), context)).toEqual({ batchItemFailures: [] });
    vi.restoreAllMocks();
    expect(worker.lastOutcomes).toEqual([{ kind: 'not_served', org_id: 'beta', reason: 'the organization is disabled in the registry' }]);
    expect(beta.requests()).toEqual([]);
  });

  it("one org's revoked key fails only its own message; the other org runs", async () => {
    keys.set(secretOf('beta'), REVOKED);
    const messages = await plan(NY_22);
    const worker = workerWith();
    const results = [];
    for (const message of messages) results.push(await worker(eventOf(recordOf(message)), context));
    vi.restoreAllMocks();
    const betaMessage = messages.find((m) => m.groupId === 'beta');
    expect(results).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [{ itemIdentifier: betaMessage?.messageId }] }]);
    expect(posts(acme)).toHaveLength(2);
    expect(posts(beta)).toEqual([]);
    expect(output.join('')).toMatch(/"message":"tick failed".*"org_id":"beta".*invalid_api_key/);
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => '_aws' in line && 'RunFailures' in line);
    expect(emf.map((m) => [m.org_id, m.RunFailures])).toEqual([['beta', 1]]);
    expect(output.join('')).not.toContain(REVOKED);
  });

  it("refuses to run an org whose secret holds another org's key", async () => {
    keys.set(secretOf('beta'), KEY);
    const message = (await plan(NY_22)).find((m) => m.groupId === 'beta');
    if (!message) throw new Error('no message for beta');
    const worker = workerWith();
    const result = await worker(eventOf(recordOf(message)), context);
    vi.restoreAllMocks();
    expect(result.batchItemFailures).toHaveLength(1);
    expect(worker.lastOutcomes[0]).toMatchObject({ kind: 'failed', org_id: 'beta', error: expect.stringContaining(`KeyAccountMismatchError: Organization "beta" is registered for ad account ${ACCOUNT_B}, but the key in Secrets Manager secret thrad-rules/orgs/beta answers for ${ACCOUNT_ID}: nothing was run`) as string });
    expect(posts(acme)).toEqual([]);
    expect(acme.requests().map((r) => r.path)).toEqual(['/v1/ad_account']);
  });

  it("checks a key that changes in the secret (its cache expired) before using it: another org's key is refused", async () => {
    const worker = workerWith({ THRAD_API_KEY_CACHE_TTL_MS: '0' });
    const first = (await plan(NY_22)).find((m) => m.groupId === 'beta');
    if (!first) throw new Error('no message for beta');
    expect(await worker(eventOf(recordOf(first)), context)).toEqual({ batchItemFailures: [] });
    expect(posts(beta)).toHaveLength(2);
    keys.set(secretOf('beta'), KEY);
    clock.set(NY_22 + 15 * 60_000 + 20_000);
    const next = (await plan(NY_22 + 15 * 60_000)).find((m) => m.groupId === 'beta');
    if (!next) throw new Error('no message for beta');
    const result = await worker(eventOf(recordOf(next)), context);
    vi.restoreAllMocks();
    expect(result.batchItemFailures).toHaveLength(1);
    expect(worker.lastOutcomes[0]).toMatchObject({ kind: 'failed', error: expect.stringContaining('KeyAccountMismatchError') as string });
    // acme's sandbox answered the one check, and nothing else.
    expect(acme.requests().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/ad_account']);
  });

  it.each([
    ['not JSON', 'pause everything', 'acme', '(body): not JSON'],
    ['an unknown field', JSON.stringify({ org_id: 'acme', ad_account_id: ACCOUNT_ID, tick: '2026-11-24T03:00:00.000Z', rule_ids: ['night-pause'], period_seconds: 900, force: true }), 'acme', 'Unrecognized key'],
    ['another group', JSON.stringify({ org_id: 'acme', ad_account_id: ACCOUNT_ID, tick: '2026-11-24T03:00:00.000Z', rule_ids: ['night-pause'], period_seconds: 900 }), 'beta', 'MessageGroupId: "beta" is not the message\'s org_id "acme"'],
  ])('fails a message that is not a tick (%s) without acting, so it reaches the dead-letter queue', async (_name, body, groupId, problem) => {
    const worker = workerWith();
    const result = await worker(eventOf(recordOf({ messageId: 'bad-1', body, groupId })), context);
    vi.restoreAllMocks();
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-1' }] });
    expect(worker.lastOutcomes[0]).toMatchObject({ kind: 'failed', error: expect.stringContaining(problem) as string });
    expect(acme.requests()).toEqual([]);
    expect(output.join('')).toContain('rejected a message that is not a tick');
  });

  it('in a batch, a failed message holds back the ones after it (FIFO order), unprocessed', async () => {
    const [message] = await plan(NY_22);
    if (!message) throw new Error('no message');
    const worker = workerWith();
    const result = await worker(eventOf(recordOf({ messageId: 'bad-1', body: '{}', groupId: 'acme' }), recordOf(message)), context);
    vi.restoreAllMocks();
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['bad-1', message.messageId]);
    expect(acme.requests()).toEqual([]);
  });

  it("serves the single-secret deployment's default org, its account read with its key", async () => {
    const fallback = JSON.stringify({ org_id: 'default', api_key_secret_id: 'thrad/api-key' });
    // A deployment of one org: the registry is empty.
    const empty = `fleet-${randomBytes(4).toString('hex')}`;
    await new AuditStore({ tableName: empty, client: dynamo.client }).ensureTable();
    const messages = await plan(NY_22, { AUDIT_TABLE_NAME: empty, THRAD_DEFAULT_ORG: fallback });
    expect(messages.map((m) => [m.groupId, JSON.parse(m.body) as unknown])).toEqual([['default', { org_id: 'default', tick: '2026-11-24T03:00:00.000Z', rule_ids: ['night-pause', 'pause-expensive'], period_seconds: 900 }]]);
    const [message] = messages;
    if (!message) throw new Error('no message');
    const result = await workerWith({ AUDIT_TABLE_NAME: empty, THRAD_DEFAULT_ORG: fallback })(eventOf(recordOf(message)), context);
    vi.restoreAllMocks();
    expect(result).toEqual({ batchItemFailures: [] });
    expect(posts(acme)).toHaveLength(2);
    const runs = await new AuditStore({ tableName: empty, client: dynamo.client }).listRuns(ACCOUNT_ID, { sinceMs: NY_22 - 3_600_000, untilMs: NY_22 + 3_600_000 });
    expect(runs.map((r) => r.status)).toEqual(['completed']);
  });

  it('refuses to start without its configuration', async () => {
    const error = await createWorkerHandler({ env: { THRAD_RULES_JSON: '[]' } })(eventOf(), context).catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(error).toBeInstanceOf(HandlerConfigError);
    expect((error as Error).message).toBe('AUDIT_TABLE_NAME is not set.');
  });
});
