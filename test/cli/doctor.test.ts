// `thrad-rules doctor` in-process against sandboxes on loopback: all PASS when the client's wire
// profile is the one the sandbox serves (both profiles), FAIL with a fix naming the other
// profile when they differ, FAIL of the range-echo checks against an API that ignores time
// ranges; read-only (GETs only, nothing changed), at most 15 requests, --json, exit codes.
import { existsSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';
import type { WireProfileName } from '../../functions/thrad/wire';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { KEY, smallFixture } from '../helpers/fixtures';

const ROOT = resolve(__dirname, '..', '..');
const CHECKS = [
  'key',
  'campaign_list',
  'insights_campaign_past_hour',
  'insights_campaign_past_day',
  'insights_ad_group_past_hour',
  'insights_ad_group_past_day',
  'insights_ad_past_hour',
  'insights_ad_past_day',
  'filters',
  'supply',
  'metadata',
  'request_budget',
];

interface Report {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

describe('thrad-rules doctor', () => {
  const sandboxes: Partial<Record<'reference' | 'legacy' | 'ignoring', Sandbox>> = {};
  let cwd: string;
  beforeAll(async () => {
    sandboxes.reference = await startSandbox({ fixture: smallFixture(), port: 0 });
    sandboxes.legacy = await startSandbox({ fixture: smallFixture(), port: 0, wireProfile: 'legacy' });
    sandboxes.ignoring = await startSandbox({ fixture: smallFixture({ behaviour: { ignore_time_ranges: true } }), port: 0 });
    cwd = mkdtempSync(join(ROOT, '.tmp', 'doctor-'));
  });
  afterAll(async () => {
    for (const s of Object.values(sandboxes)) await s.close();
  });

  async function doctor(target: Sandbox | null, profile: WireProfileName | undefined, ...args: string[]): Promise<{ code: number; out: string; err: string; requests: { method: string; effect: boolean }[] }> {
    target?.clearRequests();
    const out: string[] = [];
    const err: string[] = [];
    const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
    const env: NodeJS.ProcessEnv = { THRAD_RULES_DATA_DIR: join(cwd, `data-${String(profile)}`) };
    if (target) Object.assign(env, { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: target.apiUrl });
    if (profile) env.THRAD_WIRE_PROFILE = profile;
    const code = await main(['doctor', ...args], { io, cwd, env });
    return { code, out: out.join('\n'), err: err.join('\n'), requests: target?.requests() ?? [] };
  }

  const json = (out: string): Report => JSON.parse(out) as Report;

  it.each([
    ['reference', undefined],
    ['legacy', 'legacy'],
  ] as const)('all PASS against a sandbox serving %s with the matching profile', async (served, profile) => {
    const sandbox = sandboxes[served] as Sandbox;
    const result = await doctor(sandbox, profile);
    expect(result.err).toBe('');
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(`Thrad doctor: the Thrad sandbox at ${sandbox.apiUrl}, wire profile ${served} (${served === 'reference' ? 'OpenAI Ads API insights reference: limit ≤ 2000, uppercase IN/GREATER_THAN/LESS_THAN, canonical fields[], metadata fields, includes[]=zero_impression_items' : 'the choices made before the reference was read: limit ≤ 10000, lowercase in/equals, bare fields[], no metadata fields'})`);
    expect(lines.slice(1, -1).map((l) => l.split(':')[0])).toEqual(CHECKS.map((c) => `PASS ${c}`));
    const used = result.requests.length;
    expect(lines[lines.length - 1]).toBe(`${used} requests used (at most 15); every check passed.`);
    expect(result.code).toBe(0);
    // Read-only and cheap: GETs only, nothing changed, at most 15.
    expect(used).toBeLessThanOrEqual(15);
    expect(used).toBe(served === 'reference' ? 12 : 11);
    expect(result.requests.every((r) => r.method === 'GET' && !r.effect)).toBe(true);
    expect(sandbox.world.mutations).toBe(0);
    expect(result.out).toContain('PASS insights_campaign_past_hour: 1 campaign row, each for start=1773151200 end=1773154800 (2026-03-10T14:00Z → 2026-03-10T15:00Z) as asked');
    expect(result.out).toContain('PASS filters: filters[] campaign.id ');
    expect(result.out).not.toContain(KEY);
  });

  it('the JSON report has exactly ok and checks of name, ok, detail', async () => {
    const result = await doctor(sandboxes.reference as Sandbox, 'reference', '--json');
    expect(result.code).toBe(0);
    const report = json(result.out);
    expect(Object.keys(report)).toEqual(['ok', 'checks']);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => Object.keys(c))).toEqual(CHECKS.map(() => ['name', 'ok', 'detail']));
    expect(report.checks.find((c) => c.name === 'metadata')?.detail).toBe('metadata fields (ad_status, ad_group_status, campaign_status, ad_review_status) came back on 5 ad rows; includes[]=zero_impression_items added 4 rows with no impressions');
    expect(report.checks.find((c) => c.name === 'request_budget')?.detail).toMatch(/^no 429 in 12 requests \(doctor uses at most 15\)/);
  });

  it('a reference client against a legacy API: FAIL with the fix THRAD_WIRE_PROFILE=legacy', async () => {
    const result = await doctor(sandboxes.legacy as Sandbox, undefined, '--json');
    expect(result.code).toBe(1);
    const report = json(result.out);
    expect(report.ok).toBe(false);
    const failed = report.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(['filters', 'metadata']);
    for (const check of failed) expect(check.detail).toContain('set THRAD_WIRE_PROFILE=legacy');
    expect(failed[0]?.detail).toContain('400 invalid_filter_operator (param filters[0].operator)');
    expect(result.requests.length).toBeLessThanOrEqual(15);
  });

  it('a legacy client against a reference API: FAIL with the fix THRAD_WIRE_PROFILE=reference', async () => {
    const result = await doctor(sandboxes.reference as Sandbox, 'legacy');
    expect(result.code).toBe(1);
    const fails = result.out.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(fails.map((l) => l.split(':')[0])).toEqual([
      'FAIL insights_campaign_past_hour',
      'FAIL insights_campaign_past_day',
      'FAIL insights_ad_group_past_hour',
      'FAIL insights_ad_group_past_day',
      'FAIL insights_ad_past_hour',
      'FAIL insights_ad_past_day',
      'FAIL filters',
      'FAIL supply',
    ]);
    expect(fails[0]).toBe('FAIL insights_campaign_past_hour: Thrad API GET /ad_account/insights failed: 400 invalid_value (param limit): limit must be an integer from 1 to 2000; fix: set THRAD_WIRE_PROFILE=reference (the API refuses limit=10000)');
    for (const line of fails) expect(line).toContain('set THRAD_WIRE_PROFILE=reference');
    expect(result.out.split('\n').at(-1)).toBe(`${result.requests.length} requests used (at most 15); 8 of 12 checks failed.`);
  });

  it('an API that ignores time ranges: the range-echo checks FAIL, naming the window it answered for', async () => {
    const result = await doctor(sandboxes.ignoring as Sandbox, undefined, '--json');
    expect(result.code).toBe(1);
    const report = json(result.out);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    expect(byName.get('key')?.ok).toBe(true);
    expect(byName.get('campaign_list')?.ok).toBe(true);
    for (const name of CHECKS.filter((c) => c.startsWith('insights_'))) {
      expect(byName.get(name)?.ok, name).toBe(false);
      expect(byName.get(name)?.detail).toMatch(/^row start=1770595200 end=1773187200 \(2026-02-09T00:00Z → 2026-03-11T00:00Z\) but asked for start=\d+ end=\d+ .*; fix: the API does not honour time_ranges\[\] as the reference profile sends it/);
    }
    expect(result.requests.length).toBeLessThanOrEqual(15);
  });

  it('a refused key stops after one request; the rest say why they were not probed', async () => {
    const sandbox = sandboxes.reference as Sandbox;
    sandbox.clearRequests();
    const out: string[] = [];
    const io: Output = { out: (l) => out.push(l), err: (l) => out.push(l), isTTY: false };
    const code = await main(['doctor', '--json'], { io, cwd, env: { THRAD_ADS_API_KEY: 'ak_test_not_the_key_00', THRAD_API_BASE_URL: sandbox.apiUrl, THRAD_RULES_DATA_DIR: join(cwd, 'data-bad') } });
    expect(code).toBe(1);
    const report = json(out.join('\n'));
    expect(report.checks[0]).toMatchObject({ name: 'key', ok: false });
    expect(report.checks[0]?.detail).toContain('invalid_api_key: the key was refused; fix: put the current key in THRAD_ADS_API_KEY');
    expect(report.checks.slice(1).every((c) => !c.ok && c.detail === 'not probed: the key check failed')).toBe(true);
    expect(sandbox.requests()).toHaveLength(1);
    expect(out.join('\n')).not.toContain('ak_test_not_the_key_00');
  });

  it('without a key it probes the bundled demo sandbox, in the configured profile, and opens no store', async () => {
    for (const profile of ['reference', 'legacy'] as const) {
      const result = await doctor(null, profile);
      expect(result.out.split('\n')[0]).toMatch(new RegExp(`^Thrad doctor: the bundled Thrad sandbox at http://127\\.0\\.0\\.1:\\d+/v1 \\(demo fixture\\), wire profile ${profile} `));
      expect(result.out).not.toContain('FAIL');
      expect(result.code).toBe(0);
      expect(existsSync(join(cwd, `data-${profile}`))).toBe(false);
    }
  });

  it.each([
    [['--verbose'], 2, /Unknown option '--verbose'/],
    [['extra'], 2, /Unexpected argument 'extra'/],
    [['--help'], 0, /^Usage: thrad-rules doctor \[--json\]/],
  ] as const)('doctor %j exits %i', async (args, exit, pattern) => {
    const result = await doctor(sandboxes.reference as Sandbox, undefined, ...args);
    expect(result.code).toBe(exit);
    expect(`${result.out}${result.err}`).toMatch(pattern);
    expect(result.requests).toEqual([]);
  });

  it('an unknown THRAD_WIRE_PROFILE is a configuration error (exit 2)', async () => {
    const result = await doctor(sandboxes.reference as Sandbox, 'openai' as WireProfileName);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^Configuration: THRAD_WIRE_PROFILE: /);
    expect(result.requests).toEqual([]);
  });

  it('is listed in thrad-rules --help', async () => {
    const out: string[] = [];
    await main(['--help'], { io: { out: (l) => out.push(l), err: (l) => out.push(l), isTTY: false }, cwd, env: {} });
    expect(out.join('\n')).toContain('doctor             read-only probes: does the API answer the way the wire profile assumes?');
  });
});
