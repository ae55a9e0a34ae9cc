// `thrad-rules simulate` and `run --once` as a user runs them: in-process main() with real files.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { engineRuleInputs } from '../helpers/engine';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { withSandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '..', '..');
const STACK_FRAME = /^\s+at /m;

async function cli(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
  const code = await main(args, { io, cwd, env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('thrad-rules simulate', () => {
  let cwd: string;
  const env: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    cwd = mkdtempSync(join(ROOT, '.tmp', 'sim-'));
    writeFileSync(join(cwd, 'fixture.json'), JSON.stringify(engineFixture()));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    for (const rule of engineRuleInputs()) writeFileSync(join(rulesDir, `${rule.id}.json`), JSON.stringify(rule));
    env.THRAD_RULES_DIR = rulesDir;
    // A person re-activates the expensive campaign after the first run, then undoes the launch.
    writeFileSync(
      join(cwd, 'events.json'),
      JSON.stringify([
        { at: '2026-03-10T15:20:00Z', do: 'activate', level: 'campaign', id: eids.expensive },
        { at: '2026-03-10T15:40:00Z', do: 'undo', rule: 'activate-approved', entity: eids.approved },
        { at: '2026-03-10T15:50:00Z', do: 'pause', level: 'campaign', id: 'no-such-campaign' },
      ]),
    );
  });

  it('prints the decision lines and the events, and a summary; exit 0', async () => {
    const result = await cli(cwd, env, 'simulate', '--fixture', 'fixture.json', '--until', '2h', '--events', 'events.json');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/2026-03-10 11:15 EDT {2}activate-approved +ACTIVATE campaign "Fresh Launch" .* ✓ acted/);
    expect(result.out).toMatch(/2026-03-10 11:20 EDT {2}\(person\) +ACTIVATE campaign e1000000-0000-4000-8000-000000000001 {2}✓ now active/);
    expect(result.out).toMatch(/\(person\) +undo activate-approved on e1000000-0000-4000-8000-000000000003 {2}✓ undid d_/);
    expect(result.out).toMatch(/\(person\) +PAUSE +campaign no-such-campaign {2}✗ 404 not_found/);
    expect(result.out).toMatch(/── simulated 2026-03-10 11:00 EDT → 2026-03-10 13:00 EDT: 8 runs, \d+ decisions \(\d+ acted\), 3 events \(1 refused\), \d+ engine API requests/);
  });

  it('--json: decisions as audit --json, the events with ok and detail, the final state, runs and requests; deterministic', async () => {
    const first = await cli(cwd, env, 'simulate', '--fixture', 'fixture.json', '--until', '2026-03-10T17:00:00Z', '--events', 'events.json', '--json');
    const second = await cli(cwd, env, 'simulate', '--fixture', 'fixture.json', '--until', '2026-03-10T17:00:00Z', '--events', 'events.json', '--json');
    expect(first.code).toBe(0);
    const out = JSON.parse(first.out) as { decisions: DecisionRecord[]; events: { do: string; ok: boolean; detail: string }[]; final: { campaigns: { id: string; status: string; lifetime_spend_limit_micros: number }[]; ad_groups: unknown[]; ads: unknown[] }; runs: number; requests: number };
    expect(Object.keys(out).sort()).toEqual(['decisions', 'events', 'final', 'requests', 'runs']);
    expect(out.runs).toBe(8);
    expect(out.requests).toBeGreaterThan(8);
    expect(out.events.map((e) => [e.do, e.ok])).toEqual([['activate', true], ['undo', true], ['pause', false]]);
    expect(out.final.campaigns.find((c) => c.id === eids.expensive)?.status).toBe('active');
    // The launch was undone by a person: activate-approved never launches it again.
    expect(out.final.campaigns.find((c) => c.id === eids.approved)?.status).toBe('paused');
    expect(out.decisions.filter((d) => d.rule_id === 'activate-approved' && d.outcome === 'acted')).toHaveLength(1);
    expect(out.final.ad_groups.length).toBeGreaterThan(0);
    // The same inputs, the same output.
    expect(second.out).toBe(first.out);
  });

  it.each([
    [['--until', '2h'], 2, /^simulate needs --fixture F\.json/],
    [['--fixture', 'fixture.json'], 2, /^simulate needs --until T/],
    [['--fixture', 'fixture.json', '--until', 'soon'], 2, /^--until soon: expected an ISO 8601 time with a zone, or a duration/],
    // Date.parse read an impossible date as the next month's (2026-04-31T… as 2026-05-01): refused.
    [['--fixture', 'fixture.json', '--until', '2026-04-31T10:00:00Z'], 2, /^--until 2026-04-31T10:00:00Z: expected an ISO 8601 time with a zone, or a duration/],
    [['--fixture', 'missing.json', '--until', '1d'], 1, /missing\.json: cannot read the file/],
    [['--fixture', 'fixture.json', '--until', '3000d'], 2, /^--until 3000d: expected at most 366 days after the fixture's now \(\d{4}-\d\d-\d\dT[\d:.]+Z\), e\.g\. --until 30d\./],
    [['--fixture', 'fixture.json', '--until', '0h'], 2, /^--until 0h: expected a time after the fixture's now \(\d{4}-\d\d-\d\dT[\d:.]+Z\), e\.g\. --until 3d\./],
  ] as const)('%j → exit %i', async (args, code, line) => {
    const result = await cli(cwd, env, 'simulate', ...args);
    expect(result.code).toBe(code);
    expect(result.err).toMatch(line);
    expect(result.err).not.toMatch(STACK_FRAME);
  });

  it('a bad events file names the path and simulates nothing', async () => {
    writeFileSync(join(cwd, 'bad-events.json'), JSON.stringify([{ at: '2026-03-10T15:20:00Z', do: 'pause', level: 'campaigns', id: 'x' }, { at: 'tomorrow', do: 'review', id: 'x', review_status: 'approved' }, { do: 'dance' }]));
    const result = await cli(cwd, env, 'simulate', '--fixture', 'fixture.json', '--until', '1d', '--events', 'bad-events.json');
    expect(result.code).toBe(1);
    const lines = result.err.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/bad-events\.json: \[0\]\.level: /);
    expect(lines[1]).toMatch(/bad-events\.json: \[1\]\.at: /);
    expect(lines[2]).toContain('bad-events.json: [2].do: expected one of pause, activate, archive, review, update, undo, found "dance"');
    expect(lines[3]).toBe('Nothing was simulated: fix the input above and run again.');
    expect(result.out).toBe('');
  });

  it('an event outside the simulated time is refused with its path', async () => {
    writeFileSync(join(cwd, 'late-events.json'), JSON.stringify([{ at: '2026-03-20T15:20:00Z', do: 'pause', level: 'campaign', id: eids.cheap }]));
    const result = await cli(cwd, env, 'simulate', '--fixture', 'fixture.json', '--until', '1d', '--events', 'late-events.json');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/late-events\.json: \[0\]\.at: 2026-03-20T15:20:00Z is after --until/);
  });

  it('invalid rules name the rule file and simulate nothing', async () => {
    const rulesDir = join(cwd, 'bad-rules');
    mkdirSync(rulesDir, { recursive: true });
    writeFileSync(join(rulesDir, 'a.json'), JSON.stringify({ ...engineRuleInputs()[0], id: 'a' }));
    writeFileSync(join(rulesDir, 'b.json'), '{"id": "b",');
    const result = await cli(cwd, env, 'simulate', '--fixture', 'fixture.json', '--until', '1d', '--rules', rulesDir);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/b\.json:\(root\): not valid JSON/);
    expect(result.err).toMatch(/1 rule problem above/);
  });
});

describe('thrad-rules simulate with a fixture of several organizations', () => {
  let cwd: string;
  const env: NodeJS.ProcessEnv = {};
  const OTHER_KEY = 'ak_other_org_91c3e5a7b2d4';
  const OTHER_ACCOUNT = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
  beforeAll(() => {
    cwd = mkdtempSync(join(ROOT, '.tmp', 'sim-orgs-'));
    const single = engineFixture();
    const { api_keys, account, campaigns, ...world } = single;
    // The second organization: the same campaigns under other ids, so the same rules act there too.
    const theirs = JSON.parse(JSON.stringify(campaigns).replace(/"e1000000-/g, '"f1000000-')) as typeof campaigns;
    writeFileSync(join(cwd, 'orgs-fixture.json'), JSON.stringify({ ...world, organizations: [{ api_keys, account, campaigns }, { api_keys: [OTHER_KEY], account: { id: OTHER_ACCOUNT, name: 'Other Org', url: 'https://other.example' }, campaigns: theirs }] }));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    for (const rule of engineRuleInputs()) writeFileSync(join(rulesDir, `${rule.id}.json`), JSON.stringify(rule));
    env.THRAD_RULES_DIR = rulesDir;
    writeFileSync(join(cwd, 'orgs.json'), JSON.stringify([{ org_id: 'main', api_key_env: 'MAIN_KEY' }, { org_id: 'other', api_key_env: 'OTHER_KEY_VAR' }]));
    env.MAIN_KEY = KEY;
    env.OTHER_KEY_VAR = OTHER_KEY;
  });

  type Out = { decisions: DecisionRecord[]; final: { campaigns: { id: string }[] } };

  it('without a choice of organization it names the accounts and how to choose; exit 1', async () => {
    const result = await cli(cwd, env, 'simulate', '--fixture', 'orgs-fixture.json', '--until', '2h');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/orgs-fixture\.json: organizations: the fixture holds 2 organizations \(ad accounts 3b0e8f7a-[^,]+, 9f8e7d6c-[^)]+\); name the one to simulate with --account ID, or --orgs FILE --org ID/);
    expect(result.err).not.toMatch(STACK_FRAME);
  });

  it('--orgs FILE --org ID simulates that org (the fixture organization holding its key): its records and its entities only', async () => {
    const other = await cli(cwd, env, 'simulate', '--orgs', 'orgs.json', '--org', 'other', '--fixture', 'orgs-fixture.json', '--until', '2h', '--json');
    expect(other.err).toBe('');
    expect(other.code).toBe(0);
    const theirs = JSON.parse(other.out) as Out;
    expect(theirs.decisions.length).toBeGreaterThan(0);
    expect(new Set(theirs.decisions.map((d) => d.account_id))).toEqual(new Set([OTHER_ACCOUNT]));
    expect(theirs.decisions.filter((d) => d.outcome === 'acted').every((d) => d.entity_id.startsWith('f1000000-'))).toBe(true);
    expect(theirs.final.campaigns.map((c) => c.id).every((id) => id.startsWith('f1000000-'))).toBe(true);

    const main = await cli(cwd, env, 'simulate', '--orgs', 'orgs.json', '--org', 'main', '--fixture', 'orgs-fixture.json', '--until', '2h', '--json');
    const ours = JSON.parse(main.out) as Out;
    expect(new Set(ours.decisions.map((d) => d.account_id))).toEqual(new Set([ACCOUNT_ID]));
    expect(ours.final.campaigns.map((c) => c.id).sort()).toEqual(Object.values(eids).sort());
    // The same rules over the same campaigns under other ids: the same decisions, org by org.
    expect(theirs.decisions.map((d) => [d.rule_id, d.outcome, d.entity_id.replace(/^f1/, 'e1')])).toEqual(ours.decisions.map((d) => [d.rule_id, d.outcome, d.entity_id]));

    // --account picks it directly; an account the fixture does not hold is refused by name.
    const byAccount = await cli(cwd, env, 'simulate', '--account', OTHER_ACCOUNT, '--fixture', 'orgs-fixture.json', '--until', '2h', '--json');
    expect(byAccount.out).toBe(other.out);
    const wrong = await cli(cwd, env, 'simulate', '--account', 'acct-nope', '--fixture', 'orgs-fixture.json', '--until', '2h');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/no organization with ad account "acct-nope": its organizations are 3b0e8f7a-/);
  });
});

describe('thrad-rules run --once', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'once-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    const [expensive, , night] = engineRuleInputs();
    writeFileSync(join(rulesDir, 'pause-expensive.json'), JSON.stringify(expensive));
    writeFileSync(join(rulesDir, 'night-pause.json'), JSON.stringify({ ...night, schedule: { expression: 'cron(0 22 * * ? *)', timezone: 'America/New_York' } }));
    env = { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: 'once-audit', DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: rulesDir, THRAD_RULES_DATA_DIR: join(cwd, 'data') };
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it('runs the rate() rules and never fires a cron() rule outside its time, saying so (case 12)', async () => {
    const result = await cli(cwd, env, 'run', '--once');
    expect(result.code).toBe(0);
    expect(result.out).toContain('Skipped night-pause: cron(0 22 * * ? *) (America/New_York) runs at set times; run it now anyway with --once --rule night-pause.');
    expect(result.out).toMatch(/pause-expensive +PAUSE +campaign "Expensive Shoes".*✓ acted/);
    expect(sandbox.world.campaigns.get(eids.night)?.status).toBe('active');
  });

  it('runs a cron() rule named with --rule', async () => {
    const result = await cli(cwd, env, 'run', '--once', '--rule', 'night-pause');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/night-pause +PAUSE +campaign "Owl Lamps \[night\]".*✓ acted/);
    expect(sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
  });

  it.each([
    [['--rule', 'night-pause'], /^--rule runs a rule once, now: use it with --once/],
    [['--once', '--rule', 'nope'], /^--rule: no valid rule "nope"; rules: /],
  ] as const)('%j → exit 2', async (args, line) => {
    const result = await cli(cwd, env, 'run', ...args);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(line);
  });
});
