// The registry of organizations from the CLI: orgs add (checking the key answers, recording the ad
// account), list, disable, enable; --orgs/--org on the other commands, with their errors. The key
// itself is never written to the file nor printed.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../functions/cli/main';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { TableOrgRegistry } from '../../functions/orgs/table';
import { FileOrgRegistry } from '../../functions/orgs/file';
import { AuditStore } from '../../functions/audit/store';
import type { Sandbox } from '../../sandbox/server';
import { engineRuleInputs } from '../helpers/engine';
import { engineFixture, KEY } from '../helpers/fixtures';
import { withSandbox } from '../helpers/sandbox';
import { runCli, type CliRun } from '../helpers/cli';

const ROOT = resolve(__dirname, '..', '..');

describe('thrad-rules orgs, --orgs and --org', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let env: NodeJS.ProcessEnv;
  let cwd: string;
  let orgsFile: string;

  const cli = (...args: string[]): Promise<CliRun> => runCli(args, { cwd, env });

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'orgs-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    for (const rule of engineRuleInputs()) writeFileSync(join(rulesDir, `${rule.id}.json`), JSON.stringify(rule, null, 2));
    orgsFile = join(cwd, 'orgs.json');
    env = {
      KEY_ACME: KEY,
      KEY_WRONG: 'ak_wrong_key_000000',
      THRAD_API_BASE_URL: sandbox.apiUrl,
      AUDIT_TABLE_NAME: 'orgs-audit',
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      THRAD_RULES_DIR: rulesDir,
      THRAD_RULES_DATA_DIR: join(cwd, 'data'),
    };
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it('adds an org after checking its key answers, and records its ad account, never the key', async () => {
    const added = await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'acme', '--key-env', 'KEY_ACME');
    expect(added.code).toBe(0);
    expect(added.out).toContain(`answers for ad account ${sandbox.world.account.id}`);
    const file = readFileSync(orgsFile, 'utf8');
    expect(JSON.parse(file)).toEqual([{ org_id: 'acme', api_key_env: 'KEY_ACME', ad_account_id: sandbox.world.account.id, enabled: true }]);
    expect(file).not.toContain(KEY);
    expect(added.out + added.err).not.toContain(KEY);
  });

  it('refuses an org whose key does not answer, naming the variable, and adds nothing', async () => {
    const refused = await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'wrong', '--key-env', 'KEY_WRONG');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('KEY_WRONG');
    expect(refused.err).not.toContain('ak_wrong_key_000000');
    expect(refused.err).not.toMatch(/\n\s+at /);
    expect((JSON.parse(readFileSync(orgsFile, 'utf8')) as unknown[]).length).toBe(1);
  });

  it('refuses a duplicate org id, a key given inline, and a missing key source', async () => {
    const dup = await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'acme', '--key-env', 'KEY_ACME', '--no-check');
    expect(dup.code).toBe(1);
    expect(dup.err).toContain('org_id "acme" is already there');
    const none = await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'beta');
    expect(none.code).toBe(2);
    expect(none.err).toContain('exactly one of --key-env VAR or --secret-id ID');
    const badName = await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'beta', '--key-env', 'ak_live_123');
    expect(badName.code).toBe(2);
    expect(badName.err).toContain('this looks like a key itself');
  });

  it('lists, disables and enables', async () => {
    expect((await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'beta', '--key-env', 'KEY_ACME', '--rule', 'pause-expensive', '--no-check')).code).toBe(0);
    const list = await cli('orgs', 'list', '--orgs', orgsFile);
    expect(list.out.split('\n')).toHaveLength(2);
    expect(list.out).toMatch(/^acme\s+enabled .*key in the KEY_ACME environment variable\s+all rules$/m);
    expect(list.out).toMatch(/^beta\s+enabled\s+account \(found on first run\).*rules pause-expensive$/m);
    const disabled = await cli('orgs', 'disable', '--orgs', orgsFile, 'beta');
    expect(disabled.out).toContain('beta: disabled');
    const json = await cli('orgs', 'list', '--orgs', orgsFile, '--json');
    expect((JSON.parse(json.out) as { org_id: string; enabled: boolean }[]).map((o) => [o.org_id, o.enabled])).toEqual([['acme', true], ['beta', false]]);
    const refused = await cli('run', '--once', '--orgs', orgsFile, '--org', 'beta');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('Organization beta is disabled');
    expect((await cli('orgs', 'enable', '--orgs', orgsFile, 'beta')).code).toBe(0);
    const unknown = await cli('orgs', 'disable', '--orgs', orgsFile, 'gamma');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no organization "gamma"; it has acme, beta');
  });

  it('runs one org with --org: its key, its account, only its rules', async () => {
    const run = await cli('run', '--once', '--orgs', orgsFile, '--org', 'beta');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/cycle \[pause-expensive\]/);
    const audit = await cli('audit', '--orgs', orgsFile, '--org', 'acme', '--json');
    expect(audit.code).toBe(0);
    const records = JSON.parse(audit.out) as { rule_id: string; account_id: string }[];
    expect(records.length).toBeGreaterThan(0);
    expect(new Set(records.map((r) => r.account_id))).toEqual(new Set([sandbox.world.account.id]));
  });

  it('reads an org\'s own records when its key is refused (audit), and still runs nothing for it (helper hunt finding)', async () => {
    const revoked = join(cwd, 'revoked.json');
    writeFileSync(revoked, JSON.stringify([{ org_id: 'acme', api_key_env: 'KEY_REVOKED', ad_account_id: sandbox.world.account.id }]));
    const withRevoked = { ...env, KEY_REVOKED: `${KEY.slice(0, -4)}dead` };
    const audit = await runCli(['audit', '--orgs', revoked, '--org', 'acme', '--json'], { cwd, env: withRevoked });
    expect(audit.err).toBe('');
    expect(audit.code).toBe(0);
    const records = JSON.parse(audit.out) as { account_id: string }[];
    expect(records.length).toBeGreaterThan(0);
    expect(new Set(records.map((r) => r.account_id))).toEqual(new Set([sandbox.world.account.id]));
    const run = await runCli(['run', '--once', '--orgs', revoked, '--org', 'acme'], { cwd, env: withRevoked });
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/invalid_api_key|refused/);
  });

  it('asks which org when the registry has several, and names the ones it has', async () => {
    const ambiguous = await cli('audit', '--orgs', orgsFile);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toContain('the registry has 2 organizations (acme, beta); name one with --org ID');
    const unknown = await cli('preview', '--orgs', orgsFile, '--org', 'gamma');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--org: no organization "gamma" in the registry; it has acme, beta');
    const noFile = await cli('audit', '--org', 'acme');
    expect(noFile.code).toBe(2);
    expect(noFile.err).toContain('no registry of organizations; name one with --orgs FILE or THRAD_ORGS_FILE');
    const viaEnv = await main(['audit', '--org', 'acme', '--limit', '1'], { io: { out: () => undefined, err: () => undefined, isTTY: false }, cwd, env: { ...env, THRAD_ORGS_FILE: orgsFile } });
    expect(viaEnv).toBe(0);
  });

  it("manages a deployment's registry in the table when no orgs file is named (AUDIT_TABLE_NAME)", async () => {
    await new AuditStore({ tableName: 'orgs-audit', client: dynamo.client }).ensureTable();
    const table = new TableOrgRegistry({ tableName: 'orgs-audit', client: dynamo.client });
    const empty = await cli('orgs', 'list');
    expect(empty.code).toBe(0);
    expect(empty.out).toContain('No organizations in the organizations registry in the table orgs-audit');
    const local = await cli('orgs', 'add', '--org', 'acme', '--key-env', 'KEY_ACME');
    expect(local.code).toBe(2);
    expect(local.err).toContain('on AWS the key lives in a Secrets Manager secret: give --secret-id');
    await table.add({ org_id: 'acme', api_key_secret_id: 'thrad-rules/orgs/acme', ad_account_id: 'acct-acme', enabled: true });
    const list = await cli('orgs', 'list');
    expect(list.out).toMatch(/^acme\s+enabled\s+account acct-acme\s+key in the secret thrad-rules\/orgs\/acme/m);
    expect((await cli('orgs', 'disable', 'acme')).code).toBe(0);
    expect((await table.list()).map((o) => [o.org_id, o.enabled])).toEqual([['acme', false]]);
  });

  it("refuses an entry whose ad account is not its key's, and two orgs on one ad account (review findings)", async () => {
    const wrong = join(cwd, 'wrong-account.json');
    writeFileSync(wrong, JSON.stringify([{ org_id: 'acme', api_key_env: 'KEY_ACME', ad_account_id: 'acct-of-globex' }]));
    const run = await cli('run', '--once', '--orgs', wrong, '--org', 'acme');
    expect(run.code).toBe(1);
    expect(run.err).toContain(`Organization acme: its key answers for ad account ${sandbox.world.account.id}, but the registry says acct-of-globex`);
    const audit = await cli('audit', '--orgs', wrong, '--org', 'acme');
    expect(audit.code).toBe(1);
    const shared = join(cwd, 'shared-account.json');
    writeFileSync(shared, JSON.stringify([{ org_id: 'a', api_key_env: 'KEY_ACME', ad_account_id: 'acct-1' }, { org_id: 'b', api_key_env: 'KEY_ACME', ad_account_id: 'acct-1' }]));
    const both = await cli('audit', '--orgs', shared, '--org', 'a');
    expect(both.code).toBe(1);
    expect(both.err).toContain('ad account acct-1 is already organization "a"\'s (one organization per ad account)');
    const registry = new FileOrgRegistry(join(cwd, 'one-account.json'));
    await registry.add({ org_id: 'a', api_key_env: 'KEY_ACME', ad_account_id: 'acct-1', enabled: true });
    await registry.add({ org_id: 'b', api_key_env: 'KEY_ACME', enabled: true });
    await expect(registry.setAccount('b', 'acct-1')).rejects.toThrow(/not changed: .*already organization "a"'s/);
    expect(registry.read().find((o) => o.org_id === 'b')?.ad_account_id).toBeUndefined();
  });

  it('names the file and the path of a bad orgs file', async () => {
    const bad = join(cwd, 'bad-orgs.json');
    writeFileSync(bad, JSON.stringify([{ org_id: 'x', api_key_env: 'A', api_key_secret_id: 's' }, { org_id: 'x', api_key: 'ak_inline' }]));
    const result = await cli('audit', '--orgs', bad);
    expect(result.code).toBe(1);
    expect(result.err).toContain(bad);
    expect(result.err).toContain('give exactly one of "api_key_env" or "api_key_secret_id"');
    expect(result.err).toMatch(/api_key/);
    expect(result.err).not.toContain('ak_inline');
    const missingVar = join(cwd, 'unset-orgs.json');
    writeFileSync(missingVar, JSON.stringify([{ org_id: 'solo', api_key_env: 'KEY_NOT_SET' }]));
    const unset = await cli('audit', '--orgs', missingVar);
    expect(unset.code).toBe(1);
    expect(unset.err).toContain('Organization "solo": its key variable KEY_NOT_SET is not set');
  });
});
