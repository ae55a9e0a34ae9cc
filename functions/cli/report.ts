// `thrad-rules report`: a self-contained HTML page (inline CSS and SVG, nothing fetched at view
// time, no script) that shows what the autopilot did and why: a timeline of the automated actions
// per campaign and, for each decision with metric values, that metric's history around it (read
// from insights: functions/report/history.ts) against the rule's threshold, with every decision
// marked at its time; budget rules get budget pacing. Without a key and with no autopilot
// running, the history comes from the demo's sandbox world, rebuilt (functions/report/demo-world.ts).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DecisionRecord, RunRepeat, RunSummary } from '../audit/records';
import { describeExplanation, formatNumber } from '../engine/describe';
import type { LocalConfig } from '../local/config';
import type { LocalEnvironment } from '../local/environment';
import { localStamp, shortStamp } from '../local/format';
import { ACTION_COLOR, esc, lineChart, unavailableChart, type ChartMarker } from '../report/charts';
import { newestRecordMs, startDemoWorld } from '../local/demo-world';
import { budgetChangesFrom, planCharts, readHistories, type ChartHistory, type ChartSpec } from '../report/history';
import type { ClientEvent, ThradClient } from '../thrad/client';
import { checkTimeFlag, parseFlags, parseTime } from './args';
import { UsageError } from './errors';
import { EXIT } from './output';
import { displayTimeZone, withEnvironment, type CommandContext } from './shared';

export const REPORT_HELP = `Usage: thrad-rules report [--since T] [--until T] [--out report.html] [--utc] [--rules DIR]

Writes a self-contained HTML page (no network needed to view it, no script): a timeline of
automated actions per campaign, and for each decision the history of the metrics that decided
(from insights) against the rule's threshold, with every decision marked at its time. Campaigns
with budget rules also get budget pacing: cumulative spend against the lifetime budget.

  --since T   from (default: 7 days before --until): 2026-11-24 (its midnight in the zone the
              report shows), 2026-11-24T10:00:00Z, or a duration back from the newest record:
              12h, 7d (up to 3650d)
  --until T   to (default: the newest record, so the report after a demo run, whose records
              are on the sandbox's fast clock, finds them; now when there are none). A duration
              also counts back from the newest record.
  --out FILE  where to write (default thrad-autopilot-report.html)
  --utc       times in UTC (default: the rules' time zone when they share one, else this
              machine's; read from --rules DIR or THRAD_RULES_DIR)

History: hourly buckets for windows of up to 3 days, daily beyond, read from insights in one
series read per level and span (the count of API requests is printed). With a key, from the API;
without one, from the running autopilot's sandbox, or, when none runs, from the demo's sandbox
world rebuilt: the bundled sandbox with the demo fixture, the recorded changes made again at
their times, its clock stopped at the newest record. A read that fails or does not answer its
question leaves "history unavailable: <why>" in its charts (one line on stderr); the report is
still written.

Exit codes: 0 written, 1 store unreachable, 2 wrong usage.

Example:
  npx thrad-rules report --since 30d --out last-month.html && open last-month.html`;

function timeline(records: readonly DecisionRecord[], campaigns: readonly { id: string; name: string }[], fromMs: number, toMs: number, timeZone: string): string {
  const width = 960;
  const left = 240;
  const row = 28;
  const height = 40 + campaigns.length * row;
  const x = (ms: number): number => left + ((ms - fromMs) / Math.max(1, toMs - fromMs)) * (width - left - 20);
  const ticks = Array.from({ length: 6 }, (_, i) => fromMs + ((toMs - fromMs) * i) / 5);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Timeline of automated actions per campaign">`];
  for (const t of ticks) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="20" x2="${x(t).toFixed(1)}" y2="${height - 10}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="14" font-size="10" text-anchor="middle" fill="#6b7280">${esc(shortStamp(new Date(t).toISOString(), timeZone))}</text>`);
  }
  campaigns.forEach((c, i) => {
    const y = 40 + i * row;
    parts.push(`<text x="${left - 8}" y="${y + 4}" font-size="12" text-anchor="end">${esc(c.name.length > 34 ? `${c.name.slice(0, 33)}…` : c.name)}</text>`);
    parts.push(`<line x1="${left}" y1="${y}" x2="${width - 20}" y2="${y}" stroke="#d1d5db"/>`);
    for (const d of records.filter((r) => (r.campaign_id ?? r.entity_id) === c.id)) {
      const cx = x(Date.parse(d.evaluated_at)).toFixed(1);
      const color = ACTION_COLOR[d.action ?? 'notify'];
      const fill = d.outcome === 'acted' ? color : 'white';
      const title = `${localStamp(d.evaluated_at, timeZone)} ${d.rule_id}: ${d.action ?? ''} ${d.level} "${d.entity_name}" → ${d.outcome}${d.explanation ? ` (${describeExplanation(d.explanation, 'match')})` : ''} [${d.decision_id}]`;
      const shape = d.outcome === 'failed' ? `<path d="M ${Number(cx) - 6} ${y - 6} L ${Number(cx) + 6} ${y + 6} M ${Number(cx) - 6} ${y + 6} L ${Number(cx) + 6} ${y - 6}" stroke="${color}" stroke-width="2.5"/>` : d.action === 'activate' ? `<path d="M ${cx} ${y - 7} L ${Number(cx) + 7} ${y + 6} L ${Number(cx) - 7} ${y + 6} Z" fill="${fill}" stroke="${color}" stroke-width="2"/>` : d.action === 'pause' ? `<path d="M ${cx} ${y + 7} L ${Number(cx) + 7} ${y - 6} L ${Number(cx) - 7} ${y - 6} Z" fill="${fill}" stroke="${color}" stroke-width="2"/>` : `<circle cx="${cx}" cy="${y}" r="6" fill="${fill}" stroke="${color}" stroke-width="2"/>`;
      parts.push(`<g class="action" data-decision="${esc(d.decision_id)}"><title>${esc(title)}</title>${shape}</g>`);
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * The repeats of the runs in a period, per (rule, outcome): the occurrences counted, not written
 * (each run's summary has its own, so the sum over the period's runs is exact), and when they
 * first and last recurred.
 */
export function repeatTotals(runs: readonly RunSummary[]): RunRepeat[] {
  const totals = new Map<string, RunRepeat>();
  for (const run of runs) {
    for (const r of run.repeats) {
      const key = `${r.rule_id}|${r.outcome}`;
      const total = totals.get(key);
      if (!total) totals.set(key, { ...r });
      else {
        total.count += r.count;
        if (r.first_seen < total.first_seen) total.first_seen = r.first_seen;
        if (r.last_seen > total.last_seen) total.last_seen = r.last_seen;
      }
    }
  }
  return [...totals.values()].sort((a, b) => b.count - a.count || a.rule_id.localeCompare(b.rule_id));
}

function repeatsSection(repeats: readonly RunRepeat[], timeZone: string): string {
  if (repeats.length === 0) return '';
  const rows = repeats.map((r) => `<tr><td>${esc(r.rule_id)}</td><td>${esc(r.outcome)}</td><td>×${r.count}</td><td>${esc(localStamp(r.first_seen, timeZone))}</td><td>${esc(localStamp(r.last_seen, timeZone))}</td></tr>`).join('');
  return `<h2>Repeated unchanged</h2>
<p class="muted">Outcomes that are no action and recurred exactly as last recorded: written once, then counted (thrad-rules audit shows each entity's).</p>
<table class="repeats"><thead><tr><th>rule</th><th>outcome</th><th>repeats in this period</th><th>recurring since</th><th>last</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The metric history drawn on the page: the charts planned, what was read for each, and where from. */
export interface ReportHistory {
  charts: readonly ChartSpec[];
  histories: ReadonlyMap<string, ChartHistory>;
  /** Where the history came from, for the page. */
  source: string;
  requests: number;
}

const thresholdLabel = (op: string, value: number, metric: string): string => `threshold ${op} ${formatNumber(value, metric)}`;

/** One chart of a decision's metric history (or why it is missing). */
function historyChart(chart: ChartSpec, history: ChartHistory | undefined, records: readonly DecisionRecord[], timeZone: string): string {
  const title = chart.kind === 'pacing'
    ? `${chart.entityName} · budget pacing (${chart.ruleId}: ${chart.metric} ${chart.leaves[0]?.op ?? ''} ${formatNumber(chart.leaves[0]?.thresholds[0] ?? null, chart.metric)})`
    : chart.kind === 'total'
      ? `${chart.entityName} · ${chart.metric}, running total by ${chart.granularity === 'hourly' ? 'hour' : 'day'} (${chart.ruleId}: ${chart.metric} over ${chart.window})`
      : `${chart.entityName} · ${chart.metric} per ${chart.granularity === 'hourly' ? 'hour' : 'day'} (${chart.ruleId}: ${chart.metric} over ${chart.window})`;
  if (!history) return unavailableChart(title, 'not read');
  if (!history.available) return unavailableChart(title, history.reason);
  // The history ends at the API's last complete hour; the chart reaches its last decision.
  const toMs = Math.max(chart.spanEndMs, ...chart.leaves.map((l) => Date.parse(l.decision.evaluated_at)));
  const markers: ChartMarker[] = records
    .filter((d) => d.entity_id === chart.entityId && Date.parse(d.evaluated_at) >= chart.spanStartMs && Date.parse(d.evaluated_at) <= toMs)
    .map((d) => ({ atMs: Date.parse(d.evaluated_at), action: d.action, outcome: d.outcome, decisionId: d.decision_id, title: `${localStamp(d.evaluated_at, timeZone)} ${d.rule_id}: ${d.action ?? ''} → ${d.outcome}${d.mode === 'dry_run' ? ' (dry run)' : ''} [${d.decision_id}]` }));
  const bands = chart.leaves.map((l) => ({ fromMs: l.windowStartMs, toMs: l.windowEndMs, label: `${chart.window} as read at ${localStamp(l.decision.evaluated_at, timeZone)}: ${localStamp(new Date(l.windowStartMs).toISOString(), timeZone)} – ${localStamp(new Date(l.windowEndMs).toISOString(), timeZone)}` }));
  if (chart.kind === 'pacing') {
    const pacing = history.pacing ?? [];
    const lastBudget = [...pacing].reverse().find((p) => p.budgetUsd !== null)?.budgetUsd ?? null;
    const thresholds = [...new Set(chart.leaves.flatMap((l) => l.thresholds))].flatMap((t) => (lastBudget === null ? [] : [{ value: t * lastBudget, label: `${thresholdLabel(chart.leaves[0]?.op ?? '', t, chart.metric)} of the budget = ${formatNumber(t * lastBudget, 'spend')}` }]));
    const observed = chart.leaves.flatMap((l) => {
      const budget = [...pacing].reverse().find((p) => p.atMs <= Date.parse(l.decision.evaluated_at))?.budgetUsd ?? lastBudget;
      return l.observed === null || budget === null ? [] : [{ atMs: Date.parse(l.decision.evaluated_at), value: l.observed * budget, label: `${chart.metric} ${formatNumber(l.observed, chart.metric)} at the decision (lifetime spend ${formatNumber(l.observed * budget, 'spend')})` }];
    });
    return lineChart({
      title,
      format: 'spend',
      fromMs: chart.spanStartMs,
      toMs,
      timeZone,
      line: pacing.map((p) => ({ atMs: p.atMs, value: p.cumulativeSpendUsd })),
      lineLabel: 'lifetime spend',
      thresholds,
      budget: pacing.map((p) => ({ atMs: p.atMs, value: p.budgetUsd })),
      bands: [],
      observed,
      markers,
    });
  }
  const thresholds = [...new Set(chart.leaves.flatMap((l) => l.thresholds))].slice(0, 3).map((t) => ({ value: t, label: thresholdLabel(chart.leaves[0]?.op ?? '', t, chart.metric) }));
  const observed = chart.leaves.flatMap((l) => (l.observed === null ? [] : [{ atMs: Date.parse(l.decision.evaluated_at), value: l.observed, label: `${chart.metric} over ${chart.window} at the decision: ${formatNumber(l.observed, chart.metric)} (${l.result})` }]));
  return lineChart({
    title,
    format: chart.metric,
    fromMs: chart.spanStartMs,
    toMs,
    timeZone,
    // A running total is the value up to the bucket's end; a ratio belongs to the whole bucket.
    line: history.points.map((p) => ({ atMs: chart.kind === 'total' ? p.endMs : (p.startMs + p.endMs) / 2, value: p.value })),
    lineLabel: chart.kind === 'total' ? `${chart.metric} since ${localStamp(new Date(chart.spanStartMs).toISOString(), timeZone)}` : `${chart.metric} that ${chart.granularity === 'hourly' ? 'hour' : 'day'}`,
    thresholds,
    bands,
    observed,
    markers,
  });
}

/** The page; human-readable times in `timeZone` (default UTC), with its abbreviation. */
export function renderReport(records: readonly DecisionRecord[], options: { accountId: string; fromMs: number; toMs: number; generatedAt: string; timeZone?: string; repeats?: readonly RunRepeat[]; windowNote?: string; history?: ReportHistory }): string {
  const timeZone = options.timeZone ?? 'UTC';
  const sorted = [...records].sort((a, b) => Date.parse(a.evaluated_at) - Date.parse(b.evaluated_at));
  const campaigns = new Map<string, string>();
  for (const d of sorted) {
    const id = d.campaign_id ?? d.entity_id;
    if (!campaigns.has(id) || d.level === 'campaign') campaigns.set(id, d.level === 'campaign' ? d.entity_name : (campaigns.get(id) ?? `campaign ${id}`));
  }
  const list = [...campaigns.entries()].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
  const repeats = options.repeats ?? [];
  const repeated = (o: string): number => repeats.filter((r) => r.outcome === o).reduce((sum, r) => sum + r.count, 0);
  // Every occurrence: the records, and their repeats counted in the period's runs.
  const count = (o: string): number => sorted.filter((d) => d.outcome === o).length + repeated(o);
  const history = options.history;
  const sections = list.map((c) => {
    const mine = sorted.filter((d) => (d.campaign_id ?? d.entity_id) === c.id);
    const charts = (history?.charts ?? []).filter((chart) => chart.campaignId === c.id).map((chart) => historyChart(chart, history?.histories.get(chart.key), sorted, timeZone)).join('');
    const rows = mine
      .map(
        (d) =>
          `<tr class="${esc(d.outcome)}"><td>${esc(localStamp(d.evaluated_at, timeZone))}</td><td>${esc(d.rule_id)}</td><td>${esc(d.level)} ${esc(d.entity_name)}</td><td><span class="badge" style="background:${ACTION_COLOR[d.action ?? 'notify']}">${esc(d.action ?? '-')}</span></td><td>${esc(d.outcome)}${d.mode === 'dry_run' ? ' (dry run)' : ''}</td><td>${esc(d.explanation ? describeExplanation(d.explanation, 'match') : d.reason)}</td><td><code>${esc(d.decision_id)}</code></td></tr>`,
      )
      .join('');
    return `<section><h2>${esc(c.name)}</h2><p class="muted">${esc(c.id)} · ${mine.length} action${mine.length === 1 ? '' : 's'}</p>${charts ? `<div class="charts">${charts}</div>` : ''}<table><thead><tr><th>time</th><th>rule</th><th>entity</th><th>action</th><th>outcome</th><th>values that decided</th><th>decision</th></tr></thead><tbody>${rows}</tbody></table></section>`;
  });
  const period = `${localStamp(new Date(options.fromMs).toISOString(), timeZone)} – ${localStamp(new Date(options.toMs).toISOString(), timeZone)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Thrad autopilot report · ${esc(period)}</title>
<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1000px; color: #111827; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 2px; }
.muted { color: #6b7280; margin-top: 0; } .totals span { margin-right: 18px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin-top: 8px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
tr.failed td { background: #fef2f2; } tr.would_act td { color: #4b5563; font-style: italic; }
.badge { color: white; border-radius: 3px; padding: 1px 6px; font-size: 11px; }
.charts { display: flex; flex-direction: column; gap: 10px; } svg { max-width: 100%; height: auto; }
.chart.unavailable { border: 1px dashed #d1d5db; padding: 8px 12px; color: #6b7280; } .chart.unavailable p { margin: 4px 0 0; }
.legend span { margin-right: 14px; font-size: 12px; }
</style>
</head>
<body>
<h1>Thrad autopilot report</h1>
<p class="muted">Ad account ${esc(options.accountId)} · ${esc(period)}${options.windowNote ? ` (${esc(options.windowNote)})` : ''} · generated ${esc(options.generatedAt)}</p>
${history ? `<p class="muted">Metric history from ${esc(history.source)}: ${history.charts.length} chart${history.charts.length === 1 ? '' : 's'}, ${history.requests} API request${history.requests === 1 ? '' : 's'}.</p>` : ''}
<p class="totals"><span><b>${count('acted')}</b> actions</span><span><b>${count('would_act')}</b> dry-run</span><span><b>${count('failed')}</b> failed</span><span><b>${list.length}</b> campaigns</span>${repeats.length > 0 ? `<span><b>${repeats.reduce((sum, r) => sum + r.count, 0)}</b> repeated unchanged</span>` : ''}</p>
${repeatsSection(repeats, timeZone)}
${sorted.length === 0 ? '<p>No automated actions in this period.</p>' : `<h2>Timeline of automated actions</h2>
<p class="legend"><span style="color:${ACTION_COLOR.pause}">▼ pause</span><span style="color:${ACTION_COLOR.activate}">▲ activate</span><span style="color:${ACTION_COLOR.archive}">● archive</span><span style="color:${ACTION_COLOR.notify}">● notify</span><span style="color:${ACTION_COLOR.change_budget}">● budget</span><span style="color:${ACTION_COLOR.change_bid}">● bid</span><span>hollow: dry run</span><span>✕ failed</span></p>
${timeline(sorted, list, options.fromMs, options.toMs, timeZone)}
<p class="muted">Per campaign below: the history of each metric that decided (blue, by hour for windows up to 3 days, by day beyond: ratios such as cpc per bucket, counts such as clicks as a running total from the window's start), the rule's threshold (dashed), the window each decision read (shaded), the value that decided (red dot), and every decision at its time (a line in its action's colour; dashed when nothing was changed); budget rules: lifetime spend against the budget (black). Then every action with its values.</p>
${sections.join('\n')}`}
</body>
</html>
`;
}

/** Where the history is read: the environment's API, or the demo's world rebuilt (no key, no autopilot running). */
async function historySource(environment: LocalEnvironment, config: LocalConfig, accountId: string, onEvent: (event: ClientEvent) => void): Promise<{ client: ThradClient; source: string; note?: string; close(): Promise<void> }> {
  if (environment.mode === 'api' || environment.attachedToRunner || environment.rebuilt) {
    return { client: environment.client, source: environment.describeApi, close: () => Promise.resolve() };
  }
  const world = await startDemoWorld(environment.store, accountId, config.wireProfile, onEvent);
  const note = world.refused.length > 0 ? `${world.refused.length} recorded change(s) could not be made again (first: ${world.refused[0] ?? ''})` : undefined;
  return { client: world.client, source: `the demo's sandbox world, rebuilt (demo fixture, ${world.replayed} recorded change${world.replayed === 1 ? '' : 's'} made again, clock at the newest record)`, note, close: () => world.close() };
}

export async function reportCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, { since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string' }, utc: { type: 'boolean' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, ctx.io, REPORT_HELP);
  if (values.help) {
    ctx.io.out(REPORT_HELP);
    return EXIT.ok;
  }
  checkTimeFlag('--since', values.since, '--since 30d');
  checkTimeFlag('--until', values.until, '--until 1d');
  // Every HTTP request the report makes (the account lookup, the history reads, retries included).
  let requests = 0;
  const count = (): void => {
    requests += 1;
  };
  return withEnvironment(ctx, { rules: values.rules, onClientEvent: count }, false, async (environment, config) => {
    const accountId = await environment.accountId();
    const now = environment.clock.nowMs();
    const newest = await newestRecordMs(environment.store, accountId, now);
    // Durations count back from the newest record: "the last 12 hours of what the autopilot did".
    const anchor = newest ?? now;
    const timeZone = displayTimeZone(config, ctx, values.utc);
    const toMs = values.until === undefined ? anchor : (parseTime(values.until, anchor, timeZone) ?? anchor);
    const fromMs = values.since === undefined ? toMs - 7 * 86_400_000 : (parseTime(values.since, anchor, timeZone) ?? anchor);
    if (toMs <= fromMs) {
      throw new UsageError(`--since ${values.since ?? '7d'} is not before --until ${values.until ?? '(the newest record)'}: the report covers the time from --since to --until.`, 'Give a --since before the --until, e.g. --since 30d --until 1d, or leave --until out for "until the newest record".');
    }
    const windowNote = values.until !== undefined ? 'as given' : newest !== undefined ? 'ends at the newest record' : 'no records: ends now';
    const period = `${localStamp(new Date(fromMs).toISOString(), timeZone)} – ${localStamp(new Date(toMs).toISOString(), timeZone)}`;
    ctx.io.out(`Window: ${period} (${windowNote})`);
    const records = await environment.store.queryDecisions(accountId, { actionsOnly: true, sinceMs: fromMs, untilMs: toMs, limit: 10_000 });
    const repeats = repeatTotals(await environment.store.listRuns(accountId, { sinceMs: fromMs, untilMs: toMs, limit: 100_000 }));

    let history: ReportHistory | undefined;
    let failure: string | undefined;
    if (records.length > 0) {
      let source: Awaited<ReturnType<typeof historySource>> | undefined;
      try {
        source = await historySource(environment, config, accountId, count);
      } catch (error) {
        failure = `cannot start the sandbox for the history: ${(error as Error).message.split('\n')[0] ?? ''}`;
      }
      if (source) {
        try {
          // Fewer retries than a run: a report without charts is better than a report much later.
          const client = source.client.derive({ retry: { maxAttempts: 2 } });
          const charts = planCharts(records, client.clock.nowMs());
          const read = await readHistories(charts, client, { budgetChanges: budgetChangesFrom(records) });
          history = { charts, histories: read.histories, source: source.source, requests };
          if (read.failures.length > 0) failure = `${read.failures[0] ?? ''}${read.failures.length > 1 ? ` (and ${read.failures.length - 1} more)` : ''}`;
          ctx.io.out(`History: ${charts.length} chart${charts.length === 1 ? '' : 's'} from ${source.source}; ${requests} API request${requests === 1 ? '' : 's'} in all.`);
          if (source.note) ctx.io.out(`Note: ${source.note}.`);
        } finally {
          await source.close();
        }
      }
      if (failure !== undefined && history === undefined) {
        const charts = planCharts(records, toMs);
        const reason = failure;
        history = { charts, histories: new Map(charts.map((c) => [c.key, { available: false, reason }])), source: 'nowhere (unavailable)', requests };
      }
      if (failure !== undefined) ctx.io.err(`History unavailable: ${failure}. The report has the decisions without it.`);
    }
    const out = resolve(ctx.cwd, values.out ?? 'thrad-autopilot-report.html');
    writeFileSync(out, renderReport(records, { accountId, fromMs, toMs, generatedAt: localStamp(new Date().toISOString(), timeZone), timeZone, repeats, windowNote, history }));
    const campaigns = new Set(records.map((r) => r.campaign_id ?? r.entity_id)).size;
    ctx.io.out(`Wrote ${out}: ${records.length} action${records.length === 1 ? '' : 's'} across ${campaigns} campaign${campaigns === 1 ? '' : 's'}, ${period}.`);
    return EXIT.ok;
  });
}
