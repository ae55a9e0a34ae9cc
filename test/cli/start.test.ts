// `npm start` with no API key, as a newcomer runs it: the sandbox starts with the demo fixture
// and a fast clock, and within the deadline the four demo behaviours happen as readable lines;
// Ctrl-C stops it cleanly; `audit --json` then returns those decisions with their fields.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';

const ROOT = resolve(__dirname, '..', '..');

function cleanEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, THRAD_RULES_DATA_DIR: dataDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const name of ['THRAD_ADS_API_KEY', 'THRAD_API_KEY_SECRET_ID', 'THRAD_API_BASE_URL', 'AUDIT_TABLE_NAME', 'DYNAMODB_ENDPOINT', 'THRAD_RULES_DIR']) delete env[name];
  return env;
}

const BEHAVIOURS = {
  expensiveClicks: /cpc-guard\s+PAUSE\s+campaign "Trail Runners – Expensive Clicks"\s+status "active", cpc over last_3_days \$\d+\.\d\d > \$2\.50, clicks over last_3_days \d+ ≥ 100\s+✓ acted/,
  budgetGuard: /budget-guard\s+PAUSE\s+campaign "Holiday Bundles – Budget Nearly Spent"\s+status "active", budget_spent_fraction over lifetime 9\d\.\d\d% ≥ 90\.00%\s+✓ acted/,
  approvedActivated: /activate-approved\s+ACTIVATE campaign "Winter Launch – Awaiting Review"\s+review_status "approved", status "paused", impressions over lifetime 0 = 0\s+✓ acted/,
  daypartPause: /^2026-11-19 22:00 EST\s+daypart-pause\s+PAUSE\s+campaign "Night Owl Deals \[daypart\]".*✓ acted/m,
  daypartResume: /^2026-11-20 07:00 EST\s+daypart-resume\s+ACTIVATE campaign "Night Owl Deals \[daypart\]".*✓ acted/m,
  cycleSummary: /^── 2026-11-\d\d \d\d:\d\d EST\s+cycle \[[a-z-]+\]: 14 entities, .* API requests \(\d+ left this hour\) · \d+ ms$/m,
};

describe('npm start without an API key', () => {
  it('shows the four demo behaviours within a minute, stops on Ctrl-C, and audit --json returns them', async () => {
    const dataDir = mkdtempSync(join(ROOT, '.tmp', 'start-'));
    // Exactly what `npm start` runs (npm itself does not always pass Ctrl-C on to a piped child).
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(start).toBe('node bin/thrad-rules.cjs run');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'thrad-rules.cjs'), 'run', '--clock-speed', '3600', '--sandbox-port', '0'], { cwd: ROOT, env: cleanEnv(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
    // stdout and stderr are two pipes: their relative order on arrival is not the order they
    // were written in, so each is also kept on its own for the assertions about order.
    let output = '';
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); stderr += chunk.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !Object.values(BEHAVIOURS).every((re) => re.test(output))) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const exit = await exited;
    clearTimeout(killer);

    expect(output).toContain('No THRAD_ADS_API_KEY set: running against the bundled Thrad sandbox');
    for (const [name, pattern] of Object.entries(BEHAVIOURS)) expect(pattern.test(output), `${name}\n${output.slice(-3000)}`).toBe(true);
    expect(stderr).toContain('Stopping after the current cycle…');
    expect(stdout).toMatch(/Stopped\.\n$/);
    expect(exit).toEqual({ code: 0, signal: null });

    const audit = spawnSync(process.execPath, [join(ROOT, 'bin', 'thrad-rules.cjs'), 'audit', '--json', '--outcome', 'acted', '--limit', '100'], { cwd: ROOT, env: cleanEnv(dataDir), encoding: 'utf8' });
    expect(audit.status, audit.stderr).toBe(0);
    const records = JSON.parse(audit.stdout) as DecisionRecord[];
    const byRule = new Map(records.map((d) => [d.rule_id, d]));
    for (const rule of ['cpc-guard', 'budget-guard', 'activate-approved', 'daypart-pause', 'daypart-resume']) {
      expect(byRule.get(rule), rule).toMatchObject({ outcome: 'acted', mode: 'live', level: 'campaign', trigger: 'local', api_result: { http_status: 200 } });
    }
    expect(byRule.get('cpc-guard')).toMatchObject({ entity_name: 'Trail Runners – Expensive Clicks', action: 'pause', status_before: 'active', status_after: 'paused', observed: { status: 'active', 'cpc@last_3_days': expect.any(Number) as number, 'clicks@last_3_days': expect.any(Number) as number }, windows: [expect.objectContaining({ name: 'last_3_days', timezone: 'America/New_York' })] });
    expect(byRule.get('daypart-resume')).toMatchObject({ action: 'activate', scheduled_time: '2026-11-20T12:00:00.000Z', status_after: 'active' });
  }, 90_000);
});
