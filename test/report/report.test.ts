// `thrad-rules report` with metric history: decisions recorded by `run --once` in dynalite, history
// read over real HTTP from the sandbox they were made against. The charts are checked against the
// sandbox's own insights (values per bucket, lifetime spend), the rule's threshold and the decision
// times; a mismatched answer and an unreachable API leave "history unavailable" and still write
// the report (exit 0, one stderr line).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { assertWellFormedHtml } from '../helpers/html';
import { runCli, type CliRun } from '../helpers/cli';
import { engineRuleInputs } from '../helpers/engine';
import { eids, engineFixture, KEY } from '../helpers/fixtures';
import { clientFor, withSandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '..', '..');

interface Drawn {
  label: string;
  body: string;
}

/** The page's SVG charts by their aria-label. */
function charts(html: string): Drawn[] {
  return [...html.matchAll(/<svg[^>]*class="chart"[^>]*aria-label="([^"]*)"[^>]*>([\s\S]*?)<\/svg>/g)].map((m) => ({ label: m[1] ?? '', body: m[2] ?? '' }));
}

const attrs = (body: string, cls: string): Record<string, string>[] =>
  [...body.matchAll(new RegExp(`<[a-z]+ class="${cls}"([^>]*)>`, 'g'))].map((m) => Object.fromEntries([...(m[1] ?? '').matchAll(/data-([a-z]+)="([^"]*)"/g)].map((a) => [a[1] ?? '', a[2] ?? ''])));

/** A loopback proxy to the sandbox that makes every hourly insights row two hours long. */
async function stretchingProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${target}${req.url ?? ''}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' } });
      let text = await upstream.text();
      if ((req.url ?? '').includes('/insights') && (req.url ?? '').includes('time_granularity=hourly') && upstream.ok) {
        const body = JSON.parse(text) as { data: { end_time: number }[] };
        for (const row of body.data) row.end_time += 3_600;
        text = JSON.stringify(body);
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(text);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('thrad-rules report: metric history', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let env: NodeJS.ProcessEnv;
  let cwd: string;
  let decisions: DecisionRecord[];
  const cli = (args: string[], with_: NodeJS.ProcessEnv = env): Promise<CliRun> => runCli(args, { cwd, env: with_ });

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'report-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    const [expensive] = engineRuleInputs();
    // A budget rule (dry run, on the cheap campaign): budget pacing.
    const budgetRule = { ...expensive, id: 'budget-watch', mode: 'dry_run', scope: { ids: [eids.cheap] }, when: { metric: 'budget_spent_fraction', op: 'gte', value: 0.00001 }, then: { action: 'pause' }, guards: { cooldown: '6h' } };
    for (const rule of [...engineRuleInputs(), budgetRule]) writeFileSync(join(rulesDir, `${String(rule.id)}.json`), JSON.stringify(rule, null, 2));
    env = { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: 'report-audit', DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: rulesDir, THRAD_RULES_DATA_DIR: join(cwd, 'data') };
    expect((await cli(['run', '--once'])).code).toBe(0);
    decisions = JSON.parse((await cli(['audit', '--json', '--limit', '100'])).out) as DecisionRecord[];
    expect(decisions.filter((d) => d.rule_id === 'budget-watch' && d.outcome === 'would_act')).toHaveLength(1);
    // Time passes after the run: the report's window still ends at the newest record.
    sandbox.world.clock.advance(3 * 86_400);
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it('charts each decision\'s metric per hour from the sandbox\'s insights, with its threshold and the decisions marked', async () => {
    const before = sandbox.requests().length;
    const result = await cli(['report', '--out', 'history.html', '--utc']);
    expect(result.code, result.err).toBe(0);
    expect(result.err).toBe('');
    const newest = Math.max(...decisions.map((d) => Date.parse(d.evaluated_at)));
    const stamp = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(`Window: ${stamp(newest - 7 * 86_400_000)} – ${stamp(newest)} (ends at the newest record)`);
    // The requests it says it made are the requests the sandbox served (its /_sandbox control calls aside).
    const served = sandbox.requests().slice(before).filter((r) => r.path.startsWith('/v1/')).length;
    expect(lines[1]).toMatch(new RegExp(`^History: 3 charts from the Thrad sandbox at .*; ${served} API requests in all\\.$`));
    expect(served).toBeGreaterThanOrEqual(2);
    expect(served).toBeLessThanOrEqual(4);

    const html = readFileSync(join(cwd, 'history.html'), 'utf8');
    assertWellFormedHtml(html);
    expect(html).not.toMatch(/<script|(src|href)="https?:/);
    expect(html).toContain('(ends at the newest record)');
    const pause = decisions.find((d) => d.rule_id === 'pause-expensive' && d.outcome === 'acted');
    if (!pause) throw new Error('no pause-expensive decision');
    const cpc = charts(html).find((c) => c.label.startsWith('Expensive Shoes · cpc per hour (pause-expensive'));
    if (!cpc) throw new Error(`no cpc chart in ${charts(html).map((c) => c.label).join(' | ')}`);
    expect(attrs(cpc.body, 'threshold').map((t) => Number(t.value))).toEqual([2.5]);
    expect(attrs(cpc.body, 'marker')).toContainEqual(expect.objectContaining({ decision: pause.decision_id, at: new Date(Date.parse(pause.evaluated_at)).toISOString(), action: 'pause', outcome: 'acted' }));
    const window = pause.windows.find((w) => w.name === 'last_3_days');
    expect(attrs(cpc.body, 'window')).toContainEqual({ from: window?.start, to: window?.end });

    // Every point against the sandbox's own hourly cpc of that hour, over the chart's whole span.
    const span = /data-from="([^"]+)" data-to="([^"]+)"/.exec(html.slice(html.indexOf(`aria-label="${cpc.label}"`)));
    const fromS = Date.parse(span?.[1] ?? '') / 1000;
    const toS = Date.parse(span?.[2] ?? '') / 1000;
    expect(fromS).toBe(Date.parse(window?.start ?? '') / 1000);
    expect(toS).toBeGreaterThan(Date.parse(pause.evaluated_at) / 1000);
    const ranges = [];
    for (let s = fromS; s < toS; s += 86_400) ranges.push({ startSeconds: s, endSeconds: Math.min(toS, s + 86_400) });
    const rows = await clientFor(sandbox).insights({ scope: { level: 'campaign', id: eids.expensive }, timeGranularity: 'hourly', fields: ['cpc'], timeRanges: ranges });
    const expected = rows.filter((r) => r.cpc_usd !== null).map((r) => ({ at: new Date((r.startTime + 1_800) * 1000).toISOString(), value: r.cpc_usd ?? Number.NaN }));
    const points = attrs(cpc.body, 'point');
    expect(expected.length).toBeGreaterThanOrEqual(60);
    expect(points.map((p) => p.at)).toEqual(expected.map((e) => e.at));
    points.forEach((p, i) => expect(Number(p.value)).toBeCloseTo(expected[i]?.value ?? Number.NaN, 9));
    // The value that decided is drawn at the decision.
    expect(attrs(cpc.body, 'observed')).toEqual([{ at: new Date(Date.parse(pause.evaluated_at)).toISOString(), value: String(pause.observed['cpc@last_3_days']) }]);
  });

  it('budget rules get budget pacing: cumulative spend up to the sandbox\'s lifetime spend, against the lifetime budget', async () => {
    expect((await cli(['report', '--out', 'pacing.html', '--utc'])).code).toBe(0);
    const html = readFileSync(join(cwd, 'pacing.html'), 'utf8');
    const pacing = charts(html).find((c) => c.label.includes('budget pacing (budget-watch'));
    if (!pacing) throw new Error('no pacing chart');
    expect(attrs(pacing.body, 'budget').map((b) => Number(b.value))).toEqual([10_000]);
    expect(attrs(pacing.body, 'threshold').map((t) => Number(t.value))).toEqual([0.00001 * 10_000]);
    const points = attrs(pacing.body, 'point');
    const last = points[points.length - 1];
    const from = Date.parse(pacing.body.length > 0 ? (/data-from="([^"]+)"/.exec(html.slice(html.indexOf(pacing.label)))?.[1] ?? '') : '');
    const [total] = await clientFor(sandbox).insights({ scope: { level: 'campaign', id: eids.cheap }, timeGranularity: 'none', fields: ['spend'], timeRanges: [{ startSeconds: from / 1000, endSeconds: Date.parse(last?.at ?? '') / 1000 }] });
    expect(Number(last?.value)).toBeCloseTo(total?.spend_usd ?? Number.NaN, 6);
    const budgetDecision = decisions.find((d) => d.rule_id === 'budget-watch');
    expect(attrs(pacing.body, 'marker').map((m) => m.decision)).toContain(budgetDecision?.decision_id);
    expect(attrs(pacing.body, 'marker').find((m) => m.decision === budgetDecision?.decision_id)?.outcome).toBe('would_act');
  });

  it('an answer that does not match its question is not drawn: "history unavailable", one stderr line, exit 0', async () => {
    const proxy = await stretchingProxy(sandbox.url);
    try {
      const result = await cli(['report', '--out', 'mismatch.html'], { ...env, THRAD_API_BASE_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1` });
      expect(result.code).toBe(0);
      expect(result.err.split('\n')).toHaveLength(1);
      expect(result.err).toMatch(/^History unavailable: .*is not a hourly bucket.*\. The report has the decisions without it\.$/);
      const html = readFileSync(join(cwd, 'mismatch.html'), 'utf8');
      expect(html).toMatch(/Expensive Shoes · cpc per hour[^<]*<\/b><p>history unavailable: [^<]*is not a hourly bucket/);
      for (const d of decisions.filter((x) => x.outcome === 'acted')) expect(html).toContain(d.decision_id);
      // The daily pacing read answered its question: it is drawn.
      expect(charts(html).some((c) => c.label.includes('budget pacing'))).toBe(true);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it('API unreachable: the report is written with the decisions, exit 0, and stderr says why in one line', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const result = await cli(['report', '--out', 'offline.html'], { ...env, THRAD_API_BASE_URL: `http://127.0.0.1:${port}/v1` });
    expect(result.code).toBe(0);
    expect(result.err.split('\n')).toHaveLength(1);
    expect(result.err).toMatch(/^History unavailable: .+\. The report has the decisions without it\.$/);
    const html = readFileSync(join(cwd, 'offline.html'), 'utf8');
    assertWellFormedHtml(html);
    expect(html.match(/history unavailable: /g)?.length).toBe(3);
    for (const d of decisions.filter((x) => x.outcome === 'acted')) expect(html).toContain(d.decision_id);
  });
});
