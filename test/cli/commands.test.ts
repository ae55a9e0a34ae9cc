// The CLI against a sandbox and dynalite (real API mode: THRAD_API_BASE_URL points at the sandbox,
// whose clock the CLI follows): run --once, audit (table, JSON, CSV, filters), undo (allowed and
// refused), report (valid HTML with every action), preview; with their errors and exit codes.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { engineRuleInputs } from '../helpers/engine';
import { eids, engineFixture, KEY } from '../helpers/fixtures';
import { withSandbox } from '../helpers/sandbox';
import { runCli, type CliRun } from '../helpers/cli';
import { assertWellFormedHtml } from '../helpers/html';

const ROOT = resolve(__dirname, '..', '..');

describe('thrad-rules commands', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let env: NodeJS.ProcessEnv;
  let cwd: string;

  const cli = (...args: string[]): Promise<CliRun> => runCli(args, { cwd, env });

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'cli-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    for (const rule of engineRuleInputs()) writeFileSync(join(rulesDir, `${rule.id}.json`), JSON.stringify(rule, null, 2));
    env = {
      THRAD_ADS_API_KEY: KEY,
      THRAD_API_BASE_URL: sandbox.apiUrl,
      AUDIT_TABLE_NAME: 'cli-audit',
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      THRAD_RULES_DIR: rulesDir,
      THRAD_RULES_DATA_DIR: join(cwd, 'data'),
    };
    const run = await cli('run', '--once');
    expect(run.code).toBe(0);
    expect(run.out).toContain('API: the Thrad sandbox at');
    expect(run.out.split('\n').filter((l) => l.includes('✓ acted'))).toHaveLength(3);
    expect(run.out).toMatch(/── .* cycle \[activate-approved, night-pause, pause-expensive\]: 4 entities, 3 acted/);
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  describe('audit', () => {
    it('lists the decisions newest first as a table, in the rules\' time zone', async () => {
      const result = await cli('audit');
      expect(result.code).toBe(0);
      const lines = result.out.split('\n');
      expect(lines[0]).toMatch(/^time\s+rule\s+entity\s+action\s+outcome\s+why\s+decision$/);
      expect(lines.slice(2)).toHaveLength(3);
      // Every rule runs in America/New_York: 15:00 UTC is 11:00 EDT, as `npm start` prints it.
      for (const line of lines.slice(2)) expect(line).toMatch(/^2026-03-10 11:\d\d EDT {2}/);
      expect(result.out).toContain('Expensive Shoes');
    });

    it('--json gives decision objects with the DESIGN fields', async () => {
      const result = await cli('audit', '--json', '--rule', 'pause-expensive');
      const records = JSON.parse(result.out) as DecisionRecord[];
      expect(records).toHaveLength(1);
      expect(Object.keys(records[0] as object)).toEqual(expect.arrayContaining(['decision_id', 'run_id', 'account_id', 'rule_id', 'rule_version', 'level', 'entity_id', 'entity_name', 'scheduled_time', 'evaluated_at', 'windows', 'observed', 'explanation', 'outcome', 'action', 'mode', 'status_before', 'status_after', 'api_result']));
      expect(records[0]).toMatchObject({ rule_id: 'pause-expensive', entity_id: eids.expensive, action: 'pause', outcome: 'acted' });
    });

    it('filters by entity, outcome and time, and writes CSV', async () => {
      expect(JSON.parse((await cli('audit', '--json', '--entity', eids.night)).out)).toHaveLength(1);
      expect(JSON.parse((await cli('audit', '--json', '--outcome', 'failed')).out)).toEqual([]);
      expect(JSON.parse((await cli('audit', '--json', '--since', '2026-03-11')).out)).toEqual([]);
      expect(JSON.parse((await cli('audit', '--json', '--since', '1h', '--limit', '2')).out)).toHaveLength(2);
      const csv = (await cli('audit', '--csv')).out.split('\n');
      expect(csv[0]).toBe('evaluated_at,decision_id,run_id,rule_id,level,entity_id,entity_name,action,outcome,mode,status_before,status_after,http_status,error_code,observed,reason');
      expect(csv).toHaveLength(4);
    });

    it.each([
      [['audit', '--outcome', 'exploded'], '--outcome'],
      [['audit', '--since', 'yesterdayish'], '--since yesterdayish: expected a date'],
      [['audit', '--json', '--csv'], 'Choose one of --json and --csv.'],
      [['audit', '--limit', '0'], '--limit 0: expected a whole number from 1 to 10000'],
    ])('%j → exit 2 with a hint', async (args, hint) => {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.err).toContain(hint);
    });
  });

  describe('undo', () => {
    it('reverses a pause nobody touched, records it, and refuses to do it twice', async () => {
      const [pause] = JSON.parse((await cli('audit', '--json', '--rule', 'pause-expensive')).out) as DecisionRecord[];
      const result = await cli('undo', pause?.decision_id ?? '');
      expect(result).toMatchObject({ code: 0 });
      expect(result.out).toMatch(/^Undone: activated campaign "Expensive Shoes" at 2026-03-10 11:\d\d EDT \(was paused, now active\); recorded as u_[0-9a-f]{24}, undoing d_/);
      expect(sandbox.world.campaigns.get(eids.expensive)?.status).toBe('active');
      const [undo] = JSON.parse((await cli('audit', '--json', '--rule', 'manual-undo')).out) as DecisionRecord[];
      expect(undo).toMatchObject({ trigger: 'undo', action: 'activate', outcome: 'acted', undoes: pause?.decision_id, status_before: 'paused', status_after: 'active' });
      const again = await cli('undo', pause?.decision_id ?? '');
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/^Refused: Already undone by u_/);
    });

    it('refuses when someone changed the entity since, and says so', async () => {
      const [pause] = JSON.parse((await cli('audit', '--json', '--rule', 'night-pause')).out) as DecisionRecord[];
      sandbox.world.campaignAction(eids.night, 'activate'); // a person switches it back on
      const result = await cli('undo', pause?.decision_id ?? '');
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/Refused: campaign "Owl Lamps \[night\]" is active now, not paused as night-pause left it at .*: no automated change is on record since, so a person or another tool changed it/);
    });

    it('refuses unknown decisions and a missing id', async () => {
      expect((await cli('undo', 'd_nope')).err).toMatch(/No decision d_nope/);
      expect((await cli('undo')).code).toBe(2);
    });
  });

  describe('report', () => {
    it('writes a self-contained, well-formed page containing every action', async () => {
      const result = await cli('report', '--since', '2026-03-01', '--out', 'report.html');
      expect(result.code).toBe(0);
      const html = readFileSync(join(cwd, 'report.html'), 'utf8');
      assertWellFormedHtml(html);
      const actions = JSON.parse((await cli('audit', '--json', '--since', '2026-03-01', '--limit', '100')).out) as DecisionRecord[];
      const acted = actions.filter((d) => ['acted', 'would_act', 'failed'].includes(d.outcome));
      expect(acted.length).toBeGreaterThanOrEqual(4);
      for (const d of acted) expect(html).toContain(d.decision_id);
      expect(html).toContain('<svg');
      expect(html).not.toMatch(/(src|href)="https?:/);
    });
  });

  describe('times', () => {
    it('--utc prints UTC; JSON and CSV stay ISO 8601 UTC', async () => {
      const utc = (await cli('audit', '--utc')).out.split('\n').slice(2);
      expect(utc.length).toBeGreaterThan(0);
      for (const line of utc) expect(line).toMatch(/^2026-03-10 15:\d\d UTC {2}/);
      const iso = /^2026-03-10T15:\d\d:\d\d(\.\d+)?Z$/;
      for (const d of JSON.parse((await cli('audit', '--json')).out) as DecisionRecord[]) expect(d.evaluated_at).toMatch(iso);
      for (const row of (await cli('audit', '--csv')).out.split('\n').slice(1)) expect(row.split(',')[0]).toMatch(iso);
    });

    it('rules in several zones: the machine\'s zone (TZ), always with its abbreviation; disabled rules do not count', async () => {
      const mixed = join(cwd, 'mixed-rules');
      mkdirSync(mixed, { recursive: true });
      const [first, second, third] = engineRuleInputs();
      writeFileSync(join(mixed, 'a.json'), JSON.stringify({ ...first, schedule: { expression: 'rate(15 minutes)', timezone: 'Europe/Berlin' } }));
      writeFileSync(join(mixed, 'b.json'), JSON.stringify(second));
      const machine = async (): Promise<string[]> => {
        const out: string[] = [];
        const io: Output = { out: (l) => out.push(l), err: () => undefined, isTTY: false };
        expect(await main(['audit', '--rules', mixed], { io, cwd, env: { ...env, TZ: 'America/Los_Angeles' } })).toBe(0);
        return out.join('\n').split('\n').slice(2);
      };
      for (const line of await machine()) expect(line).toMatch(/^2026-03-10 08:\d\d PDT {2}/);
      // With the Berlin rule disabled, the enabled ones share New York again.
      writeFileSync(join(mixed, 'a.json'), JSON.stringify({ ...first, enabled: false, schedule: { expression: 'rate(15 minutes)', timezone: 'Europe/Berlin' } }));
      writeFileSync(join(mixed, 'c.json'), JSON.stringify(third));
      for (const line of await machine()) expect(line).toMatch(/^2026-03-10 11:\d\d EDT {2}/);
    });

    it('report: the page\'s times in the rules\' zone, or UTC with --utc', async () => {
      // A date is the midnight that starts it in the zone the report shows (New York here), not UTC's.
      const lines = (await cli('report', '--since', '2026-03-01', '--out', 'zoned.html')).out.split('\n');
      expect(lines[0]).toMatch(/^Window: 2026-03-01 00:00 EST – 2026-03-10 11:\d\d EDT \(ends at the newest record\)$/);
      expect(lines[lines.length - 1]).toMatch(/^Wrote .*zoned\.html: \d+ actions? across \d+ campaigns?, 2026-03-01 00:00 EST – 2026-03-10 11:\d\d EDT\.$/);
      const zoned = readFileSync(join(cwd, 'zoned.html'), 'utf8');
      expect(zoned).toMatch(/<td>2026-03-10 11:\d\d EDT<\/td>/);
      expect(zoned).not.toMatch(/<td>2026-03-10 15:\d\d UTC<\/td>/);
      expect((await cli('report', '--since', '2026-03-01', '--out', 'utc.html', '--utc')).code).toBe(0);
      expect(readFileSync(join(cwd, 'utc.html'), 'utf8')).toMatch(/<td>2026-03-10 15:\d\d UTC<\/td>/);
    });
  });

  describe('preview', () => {
    it('shows what each rule would do and why, acting on nothing', async () => {
      const before = sandbox.requests().filter((r) => r.method === 'POST').length;
      const result = await cli('preview');
      expect(result.code).toBe(0);
      expect(result.out).toContain('pause-expensive: pause campaigns');
      expect(result.out).toMatch(/Expensive Shoes: skipped cooldown: this rule acted on it at/);
      const json = JSON.parse((await cli('preview', '--json', '--rule', 'night-pause')).out) as { rules: { rule_id: string; would_act: unknown[]; no_match: number }[] };
      expect(json.rules).toEqual([expect.objectContaining({ rule_id: 'night-pause', would_act: [expect.objectContaining({ entity_name: 'Owl Lamps [night]' })] })]);
      expect(sandbox.requests().filter((r) => r.method === 'POST').length).toBe(before);
    });

    it('names the rules when asked for one that does not exist', async () => {
      const result = await cli('preview', '--rule', 'nope');
      expect(result.code).toBe(1);
      expect(result.err).toContain('Rules: activate-approved, night-pause, pause-expensive');
    });
  });

  it('every command answers --help with examples', async () => {
    for (const command of ['run', 'preview', 'audit', 'undo', 'report', 'validate', 'schema']) {
      const result = await cli(command, '--help');
      expect(result.code, command).toBe(0);
      expect(result.out).toContain(`thrad-rules ${command}`);
    }
    expect((await cli('--help')).out).toContain('Commands:');
  });
});
