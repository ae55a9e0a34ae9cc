// Regression, found in the orgs bug hunt (it failed before the fix): a command remembers the ad
// account its key answered for (account.json, or account-<org>.json for an org of an orgs file
// without "ad_account_id") and falls back to it when GET /ad_account fails. The fallback did not
// check the key: with THRAD_ADS_API_KEY (or the org's variable) now holding ANOTHER organization's
// key, a failed GET /ad_account (refused, a 503, a timeout) made that key's run file its run
// summary, records, claims and request ledger under the first organization's account, and its
// audit show another organization's "invalid_api_key" records. The fallback now serves only the key
// that answered; another key's failure is that failure.
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { localDynamoClient, startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { generateFixture } from '../../sandbox/generate';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { runCli } from '../helpers/cli';

const ROOT = resolve(__dirname, '..', '..');
const NOW_S = Date.parse('2026-11-24T15:00:00Z') / 1000;
const TABLE = 'account-cache-audit';

describe('regression: the remembered ad account is used only for the key that answered for it', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  let base: NodeJS.ProcessEnv;
  let cwd: string;
  let keyA: string;
  let accountA: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: generateFixture({ orgs: 2, campaigns: 4, seed: 5, now: NOW_S }), port: 0, clockSpeed: 0 });
    const [a] = sandbox.world.orgs;
    keyA = a?.keys[0]?.key ?? '';
    accountA = a?.account.id ?? '';
    dynamo = await startEmbeddedDynamo();
    store = new AuditStore({ tableName: TABLE, client: localDynamoClient(dynamo.endpoint), clock: sandbox.world.clock });
    cwd = mkdtempSync(join(ROOT, '.tmp', 'account-cache-'));
    base = { THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: TABLE, DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: join(ROOT, 'rules'), THRAD_RULES_DATA_DIR: join(cwd, 'data') };
    // Organization A's key answers once: its account is remembered.
    expect((await runCli(['audit'], { cwd, env: { ...base, THRAD_ADS_API_KEY: keyA } })).code).toBe(0);
  }, 30_000);
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  const runsOfA = async () => store.listRuns(accountA, { sinceMs: 0, untilMs: NOW_S * 1000 + 86_400_000 });

  it("another key whose GET /ad_account fails is refused, and nothing is filed under A's account", async () => {
    const run = await runCli(['run', '--once'], { cwd, env: { ...base, THRAD_ADS_API_KEY: 'ak_another_orgs_key_0000' } });
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/rejected the API key from the environment variable THRAD_ADS_API_KEY/);
    expect(await runsOfA()).toEqual([]);
    const audit = await runCli(['audit', '--json'], { cwd, env: { ...base, THRAD_ADS_API_KEY: 'ak_another_orgs_key_0000' } });
    expect(audit.code).toBe(1);
    expect(audit.out).toBe('');
  });

  it('the key that answered still falls back to its account when GET /ad_account fails (the API briefly down)', async () => {
    sandbox.setFaults({ rate: 1, kinds: ['http_503'], path_pattern: '^/v1/ad_account$', phase: 'before', limit: 5, seed: 1 });
    const run = await runCli(['run', '--once', '--dry-run'], { cwd, env: { ...base, THRAD_ADS_API_KEY: keyA } });
    sandbox.setFaults({ rate: 0 });
    expect(run.code, run.err).toBe(0);
    expect((await runsOfA()).map((r) => r.status)).toEqual(['completed']);
  }, 30_000);
});
