// The Done-when, end to end: after a short `npm start` (no key: the demo sandbox on a fast
// clock) and Ctrl-C, `thrad-rules report` (no autopilot running, no sandbox left) finds the demo's
// records, whose times are on the sandbox clock far from now, and charts their metric history
// from the demo's world rebuilt: the cpc the engine saw, and the budget pacing of the budget rule.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { assertWellFormedHtml } from '../helpers/html';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'thrad-rules.cjs');

function cleanEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, THRAD_RULES_DATA_DIR: dataDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const name of ['THRAD_ADS_API_KEY', 'THRAD_API_KEY_SECRET_ID', 'THRAD_API_BASE_URL', 'AUDIT_TABLE_NAME', 'DYNAMODB_ENDPOINT', 'THRAD_RULES_DIR']) delete env[name];
  return env;
}

/** The budget guard acts at the demo's second hour: the run needs no more than that. */
const BUDGET_GUARD = /budget-guard\s+PAUSE\s+campaign "Holiday Bundles – Budget Nearly Spent".*✓ acted/;

describe('npm start, Ctrl-C, then report', () => {
  it('shows the demo\'s actions with their metric history', async () => {
    const dataDir = mkdtempSync(join(ROOT, '.tmp', 'demo-report-'));
    const env = cleanEnv(dataDir);
    const child = spawn(process.execPath, [BIN, 'run', '--clock-speed', '3600', '--sandbox-port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Waiting for output (not for time): stop as soon as the budget guard has acted.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !BUDGET_GUARD.test(output)) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    expect(await exited, output.slice(-2000)).toBe(0);
    clearTimeout(killer);
    expect(output).toMatch(BUDGET_GUARD);

    const report = spawnSync(process.execPath, [BIN, 'report', '--out', join(dataDir, 'report.html')], { cwd: ROOT, env, encoding: 'utf8' });
    expect(report.status, report.stderr).toBe(0);
    expect(report.stderr).toBe('');
    const lines = report.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Window: 2026-11-1\d \d\d:\d\d EST – 2026-11-\d\d \d\d:\d\d EST \(ends at the newest record\)$/);
    expect(lines[1]).toMatch(/^History: \d+ charts from the demo's sandbox world, rebuilt \(demo fixture, \d+ recorded changes made again, clock at the newest record\); \d+ API requests in all\.$/);
    const last = lines[lines.length - 1] ?? '';
    const counted = /: (\d+) actions? across (\d+) campaigns?/.exec(last);
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(5);

    const html = readFileSync(join(dataDir, 'report.html'), 'utf8');
    assertWellFormedHtml(html);
    expect(html).not.toContain('history unavailable');
    const audit = spawnSync(process.execPath, [BIN, 'audit', '--json', '--outcome', 'acted', '--limit', '100'], { cwd: ROOT, env, encoding: 'utf8' });
    const acted = JSON.parse(audit.stdout) as DecisionRecord[];
    for (const d of acted) expect(html).toContain(d.decision_id);

    // cpc-guard: the hourly cpc the engine summed, around its pause, with the $2.50 threshold.
    const cpc = /<svg[^>]*aria-label="Trail Runners – Expensive Clicks · cpc per hour \(cpc-guard: cpc over last_3_days\)"[^>]*>([\s\S]*?)<\/svg>/.exec(html)?.[1] ?? '';
    expect(cpc).toContain('class="threshold"');
    expect(cpc).toMatch(/class="threshold"[^>]*data-value="2.5"/);
    const pause = acted.find((d) => d.rule_id === 'cpc-guard');
    expect(cpc).toContain(`data-decision="${pause?.decision_id ?? '?'}"`);
    expect((cpc.match(/class="point"/g) ?? []).length).toBeGreaterThanOrEqual(48);
    // The bucket sums add up to what the engine saw: 3-day clicks as the running total at the window's end.
    const clicks = /<svg[^>]*aria-label="Trail Runners – Expensive Clicks · clicks, running total by hour \(cpc-guard: clicks over last_3_days\)"[^>]*>([\s\S]*?)<\/svg>/.exec(html)?.[1] ?? '';
    const windowEnd = pause?.windows.find((w) => w.name === 'last_3_days')?.end ?? '';
    const atEnd = new RegExp(`class="point"[^>]*data-at="${new Date(Date.parse(windowEnd)).toISOString()}" data-value="(\\d+)"`).exec(clicks);
    expect(Number(atEnd?.[1])).toBe(pause?.observed['clicks@last_3_days']);

    // budget-guard: budget pacing, the lifetime spend reaching 90% of the budget at the pause.
    const pacing = /<svg[^>]*aria-label="Holiday Bundles – Budget Nearly Spent · budget pacing[^"]*"[^>]*>([\s\S]*?)<\/svg>/.exec(html)?.[1] ?? '';
    expect(pacing).toContain('class="budget"');
    expect(pacing).toContain('class="threshold"');
    expect(pacing).toContain(`data-decision="${acted.find((d) => d.rule_id === 'budget-guard')?.decision_id ?? '?'}"`);

    // After the demo, a command without a key sees the demo's world as the demo left it (its
    // changes made again, the clock at the newest record), not the fixture's first state: the
    // campaign cpc-guard paused is paused, so cpc-guard has nothing left to pause.
    const preview = spawnSync(process.execPath, [BIN, 'preview', '--rule', 'cpc-guard'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(preview.status, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/^Preview at 2026-11-\d\dT[\d:.]+Z against the bundled Thrad sandbox at http:\/\/127\.0\.0\.1:\d+\/v1 \(the demo's world rebuilt: demo fixture, \d+ recorded changes made again, clock at the newest record\)/);
    expect(preview.stdout).toMatch(/would act on 0\n/);
  }, 120_000);
});
