// The evaluate Lambda end to end: a scheduler event in, status calls out (seen in the sandbox's
// request log), decision records in dynalite with every field, EMF metrics, Powertools logs.
// Secrets Manager is the one mock: nothing like it runs here.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { InvalidSchedulerEventError, RunFailedError } from '../../functions/handlers/errors';
import { createHandler } from '../../functions/handlers/evaluate';
import { schedulerInputTemplate } from '../../functions/handlers/event';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { RULES_DIR } from '../helpers/engine';
import { withSandbox } from '../helpers/sandbox';

const secrets = mockClient(SecretsManagerClient);
const RULES = [
  {
    file: 'rules/pause-expensive.json',
    text: JSON.stringify({ id: 'pause-expensive', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'campaign', when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }] }, then: { action: 'pause' }, guards: { min_data: { clicks: 10 } } }),
  },
];

function eventFor(scheduledTime: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const template = JSON.parse(schedulerInputTemplate('rate-15-minutes-america-new-york-1a2b3c4d', ['pause-expensive'], 900)) as Record<string, unknown>;
  return { ...template, scheduled_time: scheduledTime, execution_id: 'exec-1', attempt: '1', ...overrides };
}

const context = { getRemainingTimeInMillis: () => 120_000, awsRequestId: 'req-1' };

describe('evaluate handler', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let tableName: string;
  let output: string[];

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });
  beforeEach(async () => {
    sandbox.reset(engineFixture({}, Math.floor(Date.now() / 1000)));
    tableName = `audit-${randomBytes(4).toString('hex')}`;
    await new AuditStore({ tableName, client: dynamo.client }).ensureTable();
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: 'thrad/api-key' }).resolves({ SecretString: JSON.stringify({ api_key: KEY }) });
    output = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(String(chunk));
        return true;
      });
    }
  });

  const handlerWith = (env: Record<string, string> = {}) =>
    createHandler({
      env: {
        AUDIT_TABLE_NAME: tableName,
        THRAD_API_KEY_SECRET_ID: 'thrad/api-key',
        THRAD_API_BASE_URL: sandbox.apiUrl,
        THRAD_RULES_JSON: JSON.stringify(RULES),
        POWERTOOLS_SERVICE_NAME: 'thrad-autopilot',
        ...env,
      },
      dynamo: dynamo.client,
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
      logger: new Logger({ serviceName: 'thrad-autopilot', logLevel: 'INFO' }),
    });

  it('runs the schedule’s rules for the scheduled time and records every decision', async () => {
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const result = await handlerWith()(eventFor(now), context);
    vi.restoreAllMocks();
    expect(result).toMatchObject({ status: 'completed', counts: { acted: 1 } });
    expect(sandbox.requests().filter((r) => r.method === 'POST').map((r) => r.path)).toEqual([`/v1/campaigns/${eids.expensive}/pause`]);
    const store = new AuditStore({ tableName, client: dynamo.client });
    const [record] = await store.queryDecisions(ACCOUNT_ID, { runId: result.run_id });
    expect(record).toMatchObject({ rule_id: 'pause-expensive', entity_id: eids.expensive, outcome: 'acted', trigger: 'schedule', scheduled_time: now, status_before: 'active', status_after: 'paused' });
    expect(Object.keys(record ?? {})).toEqual(expect.arrayContaining(['decision_id', 'run_id', 'account_id', 'rule_id', 'rule_version', 'level', 'entity_id', 'entity_name', 'scheduled_time', 'evaluated_at', 'windows', 'observed', 'explanation', 'outcome', 'action', 'mode', 'status_before', 'status_after', 'api_result']));
    // Structured logs with the run id, EMF metrics, and never the key.
    const text = output.join('');
    expect(text).toContain('"run_id":"' + result.run_id);
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => '_aws' in line);
    expect(emf).toMatchObject({ Actions: 1, ActionFailures: 0, ApiRequests: expect.any(Number) as number, service: 'thrad-autopilot' });
    expect(text).not.toContain(KEY);
    // The key was read through Secrets Manager.
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('does nothing twice for a redelivered event', async () => {
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const handler = handlerWith();
    await handler(eventFor(now), context);
    const again = await handler(eventFor(now, { attempt: '2' }), context);
    vi.restoreAllMocks();
    expect(again.status).toBe('skipped_duplicate');
    expect(sandbox.requests().filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('records and skips a stale delivery', async () => {
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const result = await handlerWith()(eventFor(old), context);
    vi.restoreAllMocks();
    expect(result.status).toBe('skipped_stale');
    expect(sandbox.requests().filter((r) => r.method === 'POST')).toEqual([]);
    const summary = await new AuditStore({ tableName, client: dynamo.client }).getRunSummary(ACCOUNT_ID, result.run_id);
    expect(summary).toMatchObject({ status: 'skipped_stale', errors: [{ code: 'stale_event' }] });
  });

  it.each([
    ['no rule ids', { rule_ids: [] }, 'rule_ids'],
    ['a bad scheduled time', { scheduled_time: '<aws.scheduler.scheduled-time>' }, 'scheduled_time'],
    ['an unknown field', { extra: true }, 'Unrecognized key'],
    ['a missing period', { period_seconds: undefined }, 'period_seconds'],
  ])('rejects a malformed event (%s) with a typed error, calling nothing', async (_name, patch, message) => {
    const error = await handlerWith()(eventFor(new Date().toISOString(), patch), context).catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(error).toBeInstanceOf(InvalidSchedulerEventError);
    expect((error as Error).message).toContain(message);
    expect(sandbox.requests()).toEqual([]);
    expect(output.join('')).toContain('rejected a malformed scheduler event');
  });

  it('fails loudly when the API is unreachable, so the delivery is retried', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const error = await handlerWith({ THRAD_API_BASE_URL: `http://127.0.0.1:${port}/v1` })(eventFor(new Date().toISOString()), context).catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as Error).message).toMatch(/connection_failed/);
    const emf = output.map((line) => { try { return JSON.parse(line) as Record<string, unknown>; } catch { return {}; } }).find((line) => '_aws' in line);
    expect(emf).toMatchObject({ RunFailures: 1 });
  });

  it('refuses to start without its configuration', async () => {
    const handler = createHandler({ env: { THRAD_API_KEY_SECRET_ID: 'x', RULES_DIR } });
    await expect(handler(eventFor(new Date().toISOString()), context)).rejects.toThrow('AUDIT_TABLE_NAME is not set.');
    vi.restoreAllMocks();
  });
});
