// The evaluate function as it ships: bundled like the stack bundles it, with the example rules
// inlined at build time, loaded from the bundle and invoked with a scheduler event.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildEvaluateBundle } from '../../bench/bundle';
import { AuditStore } from '../../functions/audit/store';
import { scheduleGroupId } from '../../functions/rules/groups';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';

const OUT = resolve(__dirname, '..', '..', '.tmp', `bundle-${randomBytes(3).toString('hex')}`, 'index.js');
const NIGHT_OWL = 'c0ffee00-0000-4000-8000-000000000005';

describe('the bundled evaluate function', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  const secrets = mockClient(SecretsManagerClient);
  const saved = { ...process.env };

  beforeAll(async () => {
    await buildEvaluateBundle(OUT);
    const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
    sandbox = await startSandbox({ fixture: { ...fixture, now: Math.floor(Date.now() / 1000) }, port: 0, clockSpeed: 0 });
    dynamo = await startEmbeddedDynamo();
    const table = `bundle-${randomBytes(3).toString('hex')}`;
    await new AuditStore({ tableName: table, client: dynamo.client }).ensureTable();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ api_key: 'ak_sandbox_demo_4f8e2c1b9d' }) });
    Object.assign(process.env, { AUDIT_TABLE_NAME: table, THRAD_API_KEY_SECRET_ID: 'thrad/api-key', THRAD_API_BASE_URL: sandbox.apiUrl, DYNAMODB_ENDPOINT: dynamo.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', POWERTOOLS_LOG_LEVEL: 'ERROR' });
  });
  afterAll(async () => {
    process.env = saved;
    secrets.restore();
    await sandbox.close();
    await dynamo.close();
  });

  it('carries the shipped rules and runs a schedule’s occurrence', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const mod = (await import(OUT)) as { handler: (event: unknown, context: unknown) => Promise<{ status: string; counts: Record<string, number> }> };
    const scheduled = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const result = await mod.handler(
      { schedule_id: scheduleGroupId('cron(0 22 * * ? *)', 'America/New_York'), rule_ids: ['daypart-pause'], scheduled_time: scheduled, period_seconds: 82_800 },
      { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'bundle-test' },
    );
    vi.restoreAllMocks();
    expect(result).toMatchObject({ status: 'completed', counts: { acted: 1 } });
    expect(sandbox.requests().filter((q) => q.method === 'POST').map((q) => q.path)).toEqual([`/v1/campaigns/${NIGHT_OWL}/pause`]);
  });
});
