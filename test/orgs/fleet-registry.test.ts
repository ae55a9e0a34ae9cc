// `run --orgs FILE` while a person changes the orgs file: the file is the authority for the whole
// run. An org disabled mid-run (`orgs disable`) gets no more cycles: no request with its key, no
// record under its account, no pause or activation of its campaigns; it is served again once
// enabled. An entry edited to another key source or another rule set is not served until a
// restart checks it. (Found in the orgs bug hunt: the fleet read the file once at start, so a
// disabled org went on being paused and activated while `orgs disable` said "the autopilot plans
// no more runs for it".)
//
// Real components: the fleet the CLI builds (openFleet), real engines over HTTP against a frozen
// generated sandbox of two organizations, the audit store in dynalite; ticks are driven by the
// test, on the sandbox's frozen clock.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { openFleet, type OpenedFleet } from '../../functions/cli/run-orgs';
import type { Output } from '../../functions/cli/output';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { localDynamoClient } from '../../functions/local/dynalite';
import { FileOrgRegistry } from '../../functions/orgs/file';
import { keyFingerprint } from '../../functions/shared/secrets';
import { generateFixture } from '../../sandbox/generate';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { runCli } from '../helpers/cli';
import { startReceiver, type Receiver } from '../helpers/receiver';

const ROOT = resolve(__dirname, '..', '..');
/** 2026-11-24T03:00:00Z: 22:00 in New York, where every shipped schedule coincides. */
const TICK = Date.parse('2026-11-24T03:00:00Z');
const MINUTE = 60_000;
const TABLE = 'fleet-registry-audit';

describe('run --orgs: the orgs file is re-read while the run goes on', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  let opened: OpenedFleet;
  let orgsFile: string;
  let env: NodeJS.ProcessEnv;
  let cwd: string;
  const err: string[] = [];
  let accounts: [string, string];
  let receiver: Receiver;
  let keys: [string, string];

  const cli = (...args: string[]) => runCli(args, { cwd, env });
  const requestsOf = (key: string): number => sandbox.requests().filter((r) => r.key_fingerprint === keyFingerprint(key)).length;
  const recordsOf = async (account: string): Promise<number> => (await store.queryDecisions(account, { sinceMs: 0, limit: 10_000 })).length;
  const runsOf = async (account: string) => store.listRuns(account, { sinceMs: TICK - 86_400_000, untilMs: TICK + 86_400_000 });
  async function tick(at: number): Promise<void> {
    opened.fleet.tick(at);
    await opened.fleet.drain();
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: generateFixture({ orgs: 2, campaigns: 20, seed: 3, now: TICK / 1000 - 60 }), port: 0, clockSpeed: 0 });
    sandbox.world.clock.set(TICK);
    const [a, b] = sandbox.world.orgs;
    if (!a || !b) throw new Error('two organizations expected');
    accounts = [a.account.id, b.account.id];
    keys = [a.keys[0]?.key ?? '', b.keys[0]?.key ?? ''];
    dynamo = await startEmbeddedDynamo();
    store = new AuditStore({ tableName: TABLE, client: localDynamoClient(dynamo.endpoint), clock: sandbox.world.clock });
    cwd = mkdtempSync(join(ROOT, '.tmp', 'fleet-registry-'));
    orgsFile = join(cwd, 'orgs.json');
    receiver = await startReceiver();
    env = { THRAD_RULES_WEBHOOK_URL: receiver.url, KEY_A: keys[0], KEY_B: keys[1], THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: TABLE, DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: join(ROOT, 'rules'), THRAD_RULES_DATA_DIR: join(cwd, 'data') };
    expect((await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'acme', '--key-env', 'KEY_A')).code).toBe(0);
    expect((await cli('orgs', 'add', '--orgs', orgsFile, '--org', 'globex', '--key-env', 'KEY_B')).code).toBe(0);
    const registry = new FileOrgRegistry(orgsFile);
    const io: Output = { out: () => undefined, err: (line) => err.push(line), isTTY: false };
    const fleet = await openFleet({ concurrency: 2 }, { io, cwd, env, orgs: registry.read(), registry });
    if (!fleet) throw new Error(`the fleet did not start: ${err.join(' | ')}`);
    opened = fleet;
  }, 60_000);
  afterAll(async () => {
    await opened.environment.close();
    await receiver.close();
    await sandbox.close();
    await dynamo.close();
  });

  it('serves both orgs while the file enables them', async () => {
    await tick(TICK);
    for (const account of accounts) expect((await runsOf(account)).map((r) => r.status)).toEqual(['completed']);
    expect(await recordsOf(accounts[1])).toBeGreaterThan(0);
  });

  it('names each org and its ad account in its digests, on the one webhook both share', () => {
    const texts = receiver.posts.map((p) => (p.json as { text: string }).text);
    const of = (org: string, account: string) => texts.filter((t) => t.startsWith(`Thrad autopilot [${org}]: `) && t.includes(`of organization ${org} (ad account ${account})`));
    expect(of('acme', accounts[0]).length).toBeGreaterThan(0);
    expect(of('globex', accounts[1]).length).toBeGreaterThan(0);
    expect(of('acme', accounts[0]).length + of('globex', accounts[1]).length).toBe(texts.length);
  });

  it('an org disabled mid-run gets no cycle: no request with its key, no record, no claim, no status change', async () => {
    expect((await cli('orgs', 'disable', '--orgs', orgsFile, 'globex')).code).toBe(0);
    const requestsBefore = requestsOf(keys[1]);
    const recordsBefore = await recordsOf(accounts[1]);
    const changesBefore = sandbox.requests().filter((r) => r.key_fingerprint === keyFingerprint(keys[1]) && r.effect).length;
    // 22:05 (activate-approved), 22:10 (and budget-guard), 22:15 (and cpc-guard, scale-winners...).
    for (const at of [TICK + 5 * MINUTE, TICK + 10 * MINUTE, TICK + 15 * MINUTE]) await tick(at);
    expect(requestsOf(keys[1])).toBe(requestsBefore);
    expect(await recordsOf(accounts[1])).toBe(recordsBefore);
    expect(sandbox.requests().filter((r) => r.key_fingerprint === keyFingerprint(keys[1]) && r.effect).length).toBe(changesBefore);
    expect((await runsOf(accounts[1])).map((r) => r.status)).toEqual(['completed']);
    // The other org goes on, at every tick.
    expect((await runsOf(accounts[0])).filter((r) => r.status === 'completed')).toHaveLength(4);
    // Said once, not once per tick.
    expect(err.filter((l) => l.startsWith('[globex] not served'))).toEqual([`[globex] not served: it is disabled in ${orgsFile}. Its ticks are not run.`]);
  });

  it('is served again once enabled', async () => {
    expect((await cli('orgs', 'enable', '--orgs', orgsFile, 'globex')).code).toBe(0);
    await tick(TICK + 20 * MINUTE);
    expect((await runsOf(accounts[1])).map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(err.at(-1)).toBe(`[globex] served again: ${orgsFile} enables it as this run started it.`);
  });

  it.each([
    ['another key source', 25, (o: Record<string, unknown>) => ({ ...o, api_key_env: 'KEY_OTHER' }), /its key is now in the KEY_OTHER environment variable .* restart the run/],
    ['narrower rules', 35, (o: Record<string, unknown>) => ({ ...o, rule_ids: ['budget-guard'] }), /its rules in .* changed since this run started/],
    ['another ad account', 45, (o: Record<string, unknown>) => ({ ...o, ad_account_id: 'ffffffff-0000-4000-8000-000000000000' }), /now names ad account ffffffff-.* restart the run/],
  ])('an entry edited to %s is not served until a restart checks it', async (_what, minutes, edit, said) => {
    const original = readFileSync(orgsFile, 'utf8');
    const edited = (JSON.parse(original) as Record<string, unknown>[]).map((o) => (o.org_id === 'globex' ? edit(o) : o));
    writeFileSync(orgsFile, JSON.stringify(edited, null, 2));
    const runsBefore = (await runsOf(accounts[1])).length;
    const requestsBefore = requestsOf(keys[1]);
    await tick(TICK + minutes * MINUTE);
    expect((await runsOf(accounts[1])).length).toBe(runsBefore);
    expect(requestsOf(keys[1])).toBe(requestsBefore);
    expect(err.at(-1)).toMatch(said);
    writeFileSync(orgsFile, original);
    await tick(TICK + (minutes + 5) * MINUTE);
    expect((await runsOf(accounts[1])).map((r) => r.status).slice(runsBefore)).toEqual(['completed']);
  });

  it('an orgs file that cannot be read serves no org', async () => {
    const original = readFileSync(orgsFile, 'utf8');
    writeFileSync(orgsFile, '[{"org_id": "acme", ');
    const before = [(await runsOf(accounts[0])).length, (await runsOf(accounts[1])).length];
    await tick(TICK + 60 * MINUTE);
    expect([(await runsOf(accounts[0])).length, (await runsOf(accounts[1])).length]).toEqual(before);
    expect(err.filter((l) => /not served: .*not valid JSON.*no cycle runs for it until the orgs file can be read/.test(l))).toHaveLength(2);
    writeFileSync(orgsFile, original);
  });

  it("says what to do when an org's key is refused mid-run, naming that org's variable, and only for it", async () => {
    // Globex's key is rotated; the old one stops working 30 sandbox minutes later.
    const [, b] = sandbox.world.orgs;
    const response = await fetch(`${sandbox.url}/_sandbox/keys/rotate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ org: b?.account.id }) });
    expect(response.status).toBe(200);
    sandbox.world.clock.set(TICK + 100 * MINUTE);
    const before = err.length;
    await tick(TICK + 70 * MINUTE);
    const said = err.slice(before);
    expect(said.filter((l) => l.startsWith('[globex]')).join('\n')).toMatch(/rejected the API key from the environment variable KEY_B \(organization globex\)[^\n]*\n\[globex\] Put organization globex's current key in KEY_B/);
    expect(said.filter((l) => l.startsWith('[acme]') && !l.includes('served again')), said.join('\n')).toEqual([]);
  });
});
