// The planner and the worker as they ship: bundled like the stack bundles them, with the example
// rules inlined at build time, loaded from their bundles and invoked as Lambda would: the planner
// with the schedule's event (its tick message lands in the in-process FIFO queue), the worker with
// a tick message for the deployment's default org (a single-secret deployment).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildFunctionBundle } from '../../bench/bundle';
import { AuditStore } from '../../functions/audit/store';
import { tickMessageSchema } from '../../functions/handlers/tick';
import type { BatchResponse, TickEvent } from '../../functions/handlers/worker';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { systemClock } from '../../functions/shared/clock';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { eventOf, FakeFifoQueue, recordOf } from '../helpers/fifo-queue';

const DIR = resolve(__dirname, '..', '..', '.tmp', `bundle-${randomBytes(3).toString('hex')}`);
const NIGHT_OWL = 'c0ffee00-0000-4000-8000-000000000005';
const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'bundle-test' };

describe('the bundled functions', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let queue: FakeFifoQueue;
  const secrets = mockClient(SecretsManagerClient);
  const saved = { ...process.env };

  beforeAll(async () => {
    await Promise.all([buildFunctionBundle(resolve(DIR, 'planner', 'index.js'), 'planner'), buildFunctionBundle(resolve(DIR, 'worker', 'index.js'), 'worker')]);
    const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
    sandbox = await startSandbox({ fixture: { ...fixture, now: Math.floor(Date.now() / 1000) }, port: 0, clockSpeed: 0 });
    dynamo = await startEmbeddedDynamo();
    queue = new FakeFifoQueue(systemClock);
    const table = `bundle-${randomBytes(3).toString('hex')}`;
    await new AuditStore({ tableName: table, client: dynamo.client }).ensureTable();
    secrets.on(GetSecretValueCommand, { SecretId: 'thrad/api-key' }).resolves({ SecretString: JSON.stringify({ api_key: 'ak_sandbox_demo_4f8e2c1b9d' }) });
    Object.assign(process.env, {
      AUDIT_TABLE_NAME: table,
      TICK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ticks.fifo',
      THRAD_DEFAULT_ORG: JSON.stringify({ org_id: 'default', api_key_secret_id: 'thrad/api-key' }),
      THRAD_ORG_SECRET_PREFIX: 'thrad-rules/orgs/',
      THRAD_API_BASE_URL: sandbox.apiUrl,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
  });
  afterAll(async () => {
    process.env = saved;
    secrets.restore();
    queue.restore();
    await sandbox.close();
    await dynamo.close();
  });

  it('the planner carries the shipped rules and queues the default org its tick (22:00 New York: the daypart rule)', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const mod = (await import(resolve(DIR, 'planner', 'index.js'))) as { handler: (event: unknown, context: unknown) => Promise<{ sent: string[] }> };
    const result = await mod.handler({ scheduled_time: '2026-11-24T03:00:00Z', execution_id: 'x', attempt: '1' }, context);
    vi.restoreAllMocks();
    expect(result.sent).toEqual(['default']);
    const [message] = queue.take();
    expect(message?.groupId).toBe('default');
    expect(tickMessageSchema.parse(JSON.parse(message?.body ?? '{}')).rule_ids).toContain('daypart-pause');
  });

  it('the worker runs a tick of the default org with the shipped rules', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const mod = (await import(resolve(DIR, 'worker', 'index.js'))) as { handler: (event: TickEvent, context: unknown) => Promise<BatchResponse> };
    const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const body = JSON.stringify(tickMessageSchema.parse({ org_id: 'default', tick, rule_ids: ['daypart-pause'], period_seconds: 82_800 }));
    const result = await mod.handler(eventOf(recordOf({ messageId: 'm-1', body, groupId: 'default' })), context);
    vi.restoreAllMocks();
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sandbox.requests().filter((q) => q.method === 'POST').map((q) => q.path)).toEqual([`/v1/campaigns/${NIGHT_OWL}/pause`]);
  });
});
