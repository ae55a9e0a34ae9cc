// The console end to end in a real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): `thrad-rules console --port 0` runs in-process against the sandbox and
// dynalite, over records a real `run --once` wrote. Every wait is on a DOM condition (playwright's
// auto-waiting), never on time. The test takes screenshots into .tmp/screenshots; with
// THRAD_RULES_SCREENSHOTS=1 into test/console/screenshots, the committed ones the README shows
// (so an ordinary run leaves the tree clean).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { AuditStore } from '../../functions/audit/store';
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { runCli, type CliRun } from '../helpers/cli';
import { eids, engineFixture, KEY } from '../helpers/fixtures';
import { withSandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '..', '..');
const SHOTS = process.env.THRAD_RULES_SCREENSHOTS === '1' ? join(__dirname, 'screenshots') : join(ROOT, '.tmp', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const TABLE = 'console-e2e';

const PAUSE = {
  id: 'pause-expensive',
  description: 'Pause active campaigns paying over $2.50 a click over 3 days, once they have 100 clicks',
  mode: 'live',
  schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' },
  level: 'campaign',
  when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 100 }] },
  then: { action: 'pause' },
  guards: { cooldown: '6h' },
  priority: 10,
};

const SCALE = {
  id: 'scale-winners',
  description: 'Propose +20% budget on the two cheap campaigns',
  mode: 'approval',
  schedule: { expression: 'cron(0 9 * * ? *)', timezone: 'America/New_York' },
  level: 'campaign',
  scope: { ids: [eids.cheap, eids.night] },
  when: { field: 'status', op: 'eq', value: 'active' },
  then: { action: 'change_budget', by_percent: 20, max_usd: 20_000 },
  guards: { cooldown: '1d', approval_expires: '12h' },
  priority: 5,
};

/** A raw request, with headers a browser would never let a page set (Host). */
type ErrorBody = { error: { code: string; message: string; field: string | null } };
const errorOf = (body: string): ErrorBody['error'] => (JSON.parse(body) as ErrorBody).error;

function raw(target: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = httpRequest(target, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

describe('thrad-rules console in Chromium', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  let env: NodeJS.ProcessEnv;
  let cwd: string;
  let context: BrowserContext;
  let page: Page;
  let url: string;
  let consoleDone: Promise<number>;
  const stop = new AbortController();
  const printed: string[] = [];
  const apiBodies: Promise<string>[] = [];
  const pageErrors: string[] = [];
  let other: Server;
  let profile: string;
  let otherUrl: string;

  const cli = (...args: string[]): Promise<CliRun> => runCli(args, { cwd, env });
  const audit = async (...args: string[]): Promise<DecisionRecord[]> => JSON.parse((await cli('audit', '--json', ...args)).out) as DecisionRecord[];
  const budgetUpdates = (id: string): number => sandbox.requests().filter((r) => r.method === 'POST' && r.path === `/v1/campaigns/${id}` && r.status === 200).length;
  const feedRows = (): Locator => page.locator('#feed-table tbody tr');
  const attributes = async (rows: Locator, name: string): Promise<(string | null)[]> => Promise.all((await rows.all()).map((r) => r.getAttribute(name)));

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    store = new AuditStore({ tableName: TABLE, client: dynamo.client });
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    cwd = mkdtempSync(join(ROOT, '.tmp', 'console-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    writeFileSync(join(rulesDir, 'pause-expensive.json'), JSON.stringify(PAUSE, null, 2));
    writeFileSync(join(rulesDir, 'scale-winners.json'), JSON.stringify(SCALE, null, 2));
    writeFileSync(join(cwd, 'world.json'), JSON.stringify(engineFixture(), null, 2));
    env = { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: TABLE, DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: rulesDir, THRAD_RULES_DATA_DIR: join(cwd, 'data'), USER: 'dana' };
    const run = await cli('run', '--once');
    expect(run.code, run.err).toBe(0);
    const propose = await cli('run', '--once', '--rule', 'scale-winners');
    expect(propose.code, propose.err).toBe(0);

    let announce: (line: string) => void = () => undefined;
    const announced = new Promise<string>((resolveUrl) => (announce = resolveUrl));
    const io: Output = {
      out: (line) => {
        printed.push(line);
        if (line.startsWith('Console: ')) announce(line.slice('Console: '.length));
      },
      err: (line) => printed.push(line),
      isTTY: false,
    };
    consoleDone = main(['console', '--port', '0'], { io, cwd, env, signal: stop.signal });
    url = await Promise.race([announced, consoleDone.then((code) => Promise.reject(new Error(`console exited ${code}: ${printed.join('\n')}`)))]);

    // Another site on loopback: the page a cross-site request would come from.
    other = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise<void>((listening) => other.listen(0, '127.0.0.1', listening));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;

    profile = mkdtempSync(join(ROOT, '.tmp', 'chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 860 },
    });
    context.on('response', (response) => {
      if (response.url().startsWith(`${url}api/`)) apiBodies.push(response.text().then((t) => t, () => ''));
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.setDefaultNavigationTimeout(15_000);
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    stop.abort();
    const code = await consoleDone;
    await new Promise<void>((closed) => other?.close(() => closed()));
    await sandbox?.close();
    await dynamo?.close();
    rmSync(cwd, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
    expect(code).toBe(0);
    expect(printed.at(-1)).toBe('Console stopped.');
  });

  it('prints its URL on 127.0.0.1 and the rules view shows each schedule, its time zone and next runs', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await page.goto(`${url}#rules`);
    const pause = page.locator('#rules-table tr[data-rule-id="pause-expensive"]');
    await pause.waitFor();
    expect(await pause.locator('.schedule').textContent()).toBe('rate(15 minutes)');
    expect(await pause.locator('.timezone').textContent()).toBe('America/New_York');
    // The sandbox's frozen clock is 2026-03-10 15:00Z (11:00 EDT): the next three quarter hours.
    expect(await pause.locator('.next-runs div').allTextContents()).toEqual(['2026-03-10 11:15 EDT', '2026-03-10 11:30 EDT', '2026-03-10 11:45 EDT']);
    const scale = page.locator('#rules-table tr[data-rule-id="scale-winners"]');
    expect(await scale.locator('.schedule').textContent()).toBe('cron(0 9 * * ? *)');
    expect(await scale.locator('.next-runs div').allTextContents()).toEqual(['2026-03-11 09:00 EDT', '2026-03-12 09:00 EDT', '2026-03-13 09:00 EDT']);
    expect(await scale.locator('td').nth(3).textContent()).toBe('approval');
  });

  it('the feed shows the decisions, filters narrow it, and a decision written meanwhile appears without a reload', async () => {
    await page.goto(`${url}#feed`);
    await feedRows().nth(2).waitFor();
    expect(await feedRows().count()).toBe(3);
    const acted = page.locator(`#feed-table tr[data-outcome="acted"]`);
    expect(await acted.getAttribute('data-entity')).toBe(eids.expensive);
    expect(await acted.locator('td').nth(5).textContent()).toBe('status "active", cpc over last_3_days $3.05 > $2.50, clicks over last_3_days 110 ≥ 100');
    expect(await page.locator('#feed-timeline circle.dot').count()).toBe(3);

    await page.selectOption('#feed-filters select[name="outcome"]', 'awaiting_approval');
    await page.click('#feed-filters button[type="submit"]');
    await page.locator('#feed-table tbody tr[data-outcome="acted"]').waitFor({ state: 'detached' });
    expect((await attributes(feedRows(), 'data-entity')).sort()).toEqual([eids.cheap, eids.night].sort());
    await page.fill('#feed-filters input[name="entity"]', eids.night);
    await page.click('#feed-filters button[type="submit"]');
    await page.locator(`#feed-table tbody tr[data-entity="${eids.cheap}"]`).waitFor({ state: 'detached' });
    expect(await feedRows().count()).toBe(1);
    await page.click('#feed-filters button[type="reset"]');
    await feedRows().nth(2).waitFor();

    // A decision another process writes to the store shows up on the open page.
    const [original] = await audit('--outcome', 'acted');
    const later: DecisionRecord = { ...original, decision_id: 'd_feedfeedfeedfeedfeedfeed', run_id: 'run_console_test', entity_id: eids.night, entity_name: 'Owl Lamps [night]', evaluated_at: '2026-03-10T15:05:00.000Z', scheduled_time: '2026-03-10T15:05:00.000Z' };
    await store.putDecisions([later]);
    const fresh = page.locator('#feed-table tbody tr[data-decision-id="d_feedfeedfeedfeedfeedfeed"]');
    await fresh.waitFor();
    expect(await feedRows().first().getAttribute('data-decision-id')).toBe('d_feedfeedfeedfeedfeedfeed');
    expect(await fresh.locator('td').nth(2).textContent()).toBe('Owl Lamps [night]');
    await page.locator('#feed-timeline circle.dot').nth(3).waitFor();
    await page.screenshot({ path: join(SHOTS, 'feed.png'), fullPage: true });

    await page.fill('#feed-filters input[name="since"]', 'yesterday');
    await page.click('#feed-filters button[type="submit"]');
    await page.locator('#feed-error', { hasText: 'query.since' }).waitFor();
    expect(await page.locator('#feed-error').textContent()).toMatch(/^query\.since: expected a date \(2026-11-24, from its midnight in the time zone times are shown in\)/);
  });

  it('the entity view shows current values and why or why not for each rule, from a preview of that entity', async () => {
    await page.click(`#feed-table tbody tr[data-entity="${eids.cheap}"] a.entity`);
    await page.locator('#entity-rules li[data-rule-id="pause-expensive"]').waitFor();
    expect(await page.locator('#entity-title').textContent()).toBe('campaign “Cheap Socks”');
    expect(await page.locator('#entity-current tr[data-field="status"] td').textContent()).toBe('active');
    expect(await page.locator('#entity-current tr[data-field="lifetime budget"] td').textContent()).toBe('$10,000.00');
    const pause = page.locator('#entity-rules li[data-rule-id="pause-expensive"]');
    expect(await pause.getAttribute('data-verdict')).toBe('no_match');
    expect(await pause.locator('.leaf').allTextContents()).toEqual(['status: "active" = "active"', 'cpc over last_3_days: $0.51 > $2.50', 'clicks over last_3_days: 220 ≥ 100']);
    expect(await pause.locator('.leaf.no_match').allTextContents()).toEqual(['cpc over last_3_days: $0.51 > $2.50']);
    const scale = page.locator('#entity-rules li[data-rule-id="scale-winners"]');
    expect(await scale.getAttribute('data-verdict')).toBe('match');
    expect(await attributes(page.locator('#entity-history tbody tr'), 'data-outcome')).toEqual(['awaiting_approval']);
    await page.screenshot({ path: join(SHOTS, 'entity.png'), fullPage: true });

    await page.goto(`${url}#entity/${eids.expensive}`);
    await page.locator('#entity-current tr[data-field="status"] td', { hasText: 'paused' }).waitFor();
    expect(await page.locator('#entity-rules li[data-rule-id="scale-winners"]').getAttribute('data-verdict')).toBe('out_of_scope');
    expect(await page.locator('#entity-rules li[data-rule-id="pause-expensive"] .leaf.no_match').allTextContents()).toEqual(['status: "paused" = "active"']);
  });

  it('refuses a cross-site POST (403) and leaves the proposal pending', async () => {
    const [cheap] = await audit('--entity', eids.cheap, '--outcome', 'awaiting_approval');
    const target = `${url}api/approvals/${cheap.decision_id}/approve`;
    const forged = await fetch(target, { method: 'POST', headers: { Origin: otherUrl.replace(/\/$/, ''), 'Content-Type': 'application/json' }, body: '{}' });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toContain('refused: the console accepts changes only from its own page');
    // From a page on another site, as a browser sends it (a simple request, no preflight).
    await page.goto(otherUrl);
    await page.evaluate(async (to) => {
      await fetch(to, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    }, target);
    const [still] = await audit('--entity', eids.cheap, '--outcome', 'awaiting_approval');
    expect(still.approval?.resolved_at).toBeNull();
    expect(budgetUpdates(eids.cheap)).toBe(0);
  });

  it('approves a proposal from the page: the approval lands in the store and the sandbox received the call', async () => {
    const [proposal] = await audit('--entity', eids.cheap, '--outcome', 'awaiting_approval');
    await page.goto(`${url}#approvals`);
    const item = page.locator(`#approvals-list li[data-decision-id="${proposal.decision_id}"]`);
    await item.waitFor();
    expect(await page.locator('#approvals-list li').count()).toBe(2);
    expect(await item.locator('.change').textContent()).toBe('lifetime budget $10,000.00 → $12,000.00');
    await page.screenshot({ path: join(SHOTS, 'approvals.png'), fullPage: true });
    await page.fill('#approver', 'casey');
    await item.locator('button.approve').click();
    await page.locator('#approvals-message', { hasText: 'Approved and carried out' }).waitFor();
    expect(await page.locator('#approvals-message').textContent()).toMatch(/^Approved and carried out: campaign "Cheap Socks" lifetime budget \$10,000\.00 → \$12,000\.00 at 2026-03-10 11:00 EDT; recorded as a_[0-9a-f]{24} \(approving d_[0-9a-f]{24}\)\./);
    await item.waitFor({ state: 'detached' });
    expect(sandbox.world.campaigns.get(eids.cheap)?.budget_micros).toBe(12_000_000_000);
    expect(budgetUpdates(eids.cheap)).toBe(1);
    const [acted] = await audit('--entity', eids.cheap, '--outcome', 'acted');
    expect(acted).toMatchObject({ trigger: 'approval', approves: proposal.decision_id, value_before_micros: 10_000_000_000, value_after_micros: 12_000_000_000 });
    const [approved] = await audit('--entity', eids.cheap, '--outcome', 'approved');
    expect(approved).toMatchObject({ decision_id: proposal.decision_id, approval: { resolved_by: 'casey', decision_id: acted.decision_id } });
  });

  it('rejects a proposal from the page with a reason: recorded, nothing called', async () => {
    const [proposal] = await audit('--entity', eids.night, '--outcome', 'awaiting_approval');
    const item = page.locator(`#approvals-list li[data-decision-id="${proposal.decision_id}"]`);
    await item.locator('input.reason').fill('Holiday: keep the budget');
    await item.locator('button.reject').click();
    await page.locator('#approvals-message', { hasText: 'Rejected' }).waitFor();
    expect(await page.locator('#approvals-message').textContent()).toBe(`Rejected ${proposal.decision_id}: scale-winners's proposal on campaign "Owl Lamps [night]" (lifetime budget $10,000.00 → $12,000.00) is not carried out (Holiday: keep the budget); recorded as rejected by casey.`);
    await page.locator('#approvals-empty').waitFor();
    const [rejected] = await audit('--entity', eids.night, '--outcome', 'rejected');
    expect(rejected).toMatchObject({ decision_id: proposal.decision_id, approval: { resolved_by: 'casey', note: 'Holiday: keep the budget' } });
    expect(budgetUpdates(eids.night)).toBe(0);
    expect(sandbox.world.campaigns.get(eids.night)?.budget_micros).toBe(10_000_000_000);
  });

  it('runs the simulator over a fixture path and an uploaded events file and draws the result on the timeline', async () => {
    await page.goto(`${url}#simulate`);
    await page.fill('#sim-form input[name="fixturePath"]', 'world.json');
    await page.fill('#sim-form input[name="until"]', 'tomorrow');
    await page.click('#sim-form button[type="submit"]');
    await page.locator('#sim-error', { hasText: 'until' }).waitFor();
    expect(await page.locator('#sim-error').textContent()).toMatch(/^until: expected an ISO 8601 time with a zone, or a duration/);

    // A person turns the expensive campaign back on at 13:00 EDT; the rule's cooldown (6h) holds it off until 17:00.
    const events = [{ at: '2026-03-10T17:00:00Z', do: 'activate', level: 'campaign', id: eids.expensive }];
    await page.setInputFiles('#sim-form input[name="eventsFile"]', { name: 'events.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(events)) });
    await page.fill('#sim-form input[name="until"]', '8h');
    await page.click('#sim-form button[type="submit"]');
    await page.locator('#sim-result').waitFor();
    const summary = await page.locator('#sim-summary').textContent();
    expect(summary).toMatch(/^Simulated 2026-03-10 11:00 EDT → 2026-03-10 19:00 EDT: \d+ runs, \d+ decisions \(2 acted\), 1 events \(0 refused\), \d+ engine API requests\.$/);
    const acted = page.locator('#sim-decisions tbody tr[data-outcome="acted"]');
    expect(await Promise.all((await acted.all()).map(async (r) => [await r.locator('td').first().textContent(), await r.getAttribute('data-entity')]))).toEqual([
      ['2026-03-10 11:15 EDT', eids.expensive],
      ['2026-03-10 17:15 EDT', eids.expensive],
    ]);
    expect(await page.locator('#sim-events tbody tr').allTextContents()).toEqual([expect.stringMatching(/^2026-03-10 13:00 EDTactivate campaign e1000000-0000-4000-8000-000000000001✓ now active/) as unknown]);
    // On one axis: the simulated decisions, the person's event, and the store's own decisions of the same span.
    const decisions = await page.locator('#sim-decisions tbody tr').count();
    const recorded = await audit('--since', '2026-03-10T15:00:00Z', '--until', '2026-03-10T23:00:00Z', '--limit', '1000');
    expect(recorded.length).toBeGreaterThan(0);
    expect(await page.locator('#sim-timeline circle.dot.event').count()).toBe(1);
    expect(await page.locator('#sim-timeline circle.dot.recorded').count()).toBe(recorded.length);
    expect(await page.locator('#sim-timeline circle.dot').count()).toBe(decisions + 1 + recorded.length);
    expect((await page.locator('#sim-timeline text.row').allTextContents()).sort()).toEqual(['simulated · pause-expensive', 'people (simulated)', ...new Set(recorded.map((d) => `recorded · ${d.rule_id}`))].sort());
    await page.screenshot({ path: join(SHOTS, 'simulator.png'), fullPage: true });
  });

  it('the HTTP API: only its own host, POSTs only from its own origin, 400s that name the field', async () => {
    const origin = url.replace(/\/$/, '');
    const host = origin.replace('http://', '');
    expect((await raw(`${url}api/status`, { headers: { Host: `attacker.example:${host.split(':')[1]}` } })).status).toBe(403);
    const noOrigin = await raw(`${url}api/simulate`, { method: 'POST', headers: { Host: host, 'Content-Type': 'application/json' }, body: '{}' });
    expect(noOrigin.status).toBe(403);
    expect(noOrigin.body).toContain('POST from no origin refused');
    const post = (body: string, type = 'application/json') => raw(`${url}api/simulate`, { method: 'POST', headers: { Host: host, Origin: origin, 'Content-Type': type }, body });
    expect(JSON.parse((await post('{"until": "1d"}')).body) as ErrorBody).toEqual({ error: { code: 'ConsoleInputError', message: 'fixture: expected {"path": "file.json"} or {"json": <the file\'s content>, "name": "file.json"}', field: 'fixture' } });
    expect((await post('{"fixture": {"path": "nope.json"}, "until": "1d"}')).body).toContain('"field":"fixture"');
    expect((await post('{', 'application/json')).status).toBe(400);
    expect(errorOf((await post('{}', 'text/plain')).body).field).toBe('Content-Type');
    const limit = await raw(`${url}api/decisions?limit=0`, { headers: { Host: host } });
    expect(limit.status).toBe(400);
    expect(errorOf(limit.body)).toEqual({ code: 'ConsoleInputError', message: 'query.limit: Too small: expected number to be >=1', field: 'query.limit' });
    expect(errorOf((await raw(`${url}api/decisions?colour=red`, { headers: { Host: host } })).body).field).toBe('query');
    expect((await raw(`${url}api/approvals/d_x/approve`, { headers: { Host: host } })).status).toBe(405);
    expect((await raw(`${url}api/nothing`, { headers: { Host: host } })).status).toBe(404);
  });

  it('never sent the API key in any response', async () => {
    const bodies = await Promise.all(apiBodies);
    expect(bodies.length).toBeGreaterThan(10);
    for (const body of bodies) expect(body).not.toContain(KEY);
    expect(await page.content()).not.toContain(KEY);
    expect(pageErrors).toEqual([]);
  });
});
