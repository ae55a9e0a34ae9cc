// `thrad-rules report`: a self-contained HTML page (inline CSS and SVG, nothing fetched at view
// time) with a timeline of the automated actions per campaign and, per campaign, the metric values
// that triggered them against their thresholds, so an advertiser sees at a glance what the
// autopilot did.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DecisionRecord, RunRepeat, RunSummary } from '../audit/records';
import { describeExplanation, formatNumber } from '../engine/describe';
import { localStamp, shortStamp } from '../local/format';
import { checkTimeFlag, parseFlags, parseTime } from './args';
import { UsageError } from './errors';
import { EXIT } from './output';
import { displayTimeZone, withEnvironment, type CommandContext } from './shared';

export const REPORT_HELP = `Usage: thrad-rules report [--since T] [--until T] [--out report.html] [--utc] [--rules DIR]

Writes a self-contained HTML page (no network needed to view it): a timeline of automated
actions per campaign, and the metric values that triggered them, drawn as charts.

  --since T   from (default 7d): 2026-11-24, 2026-11-24T10:00:00Z, or back from now: 12h, 7d
  --until T   to (default now)
  --out FILE  where to write (default thrad-autopilot-report.html)
  --utc       times in UTC (default: the rules' time zone when they share one, else this
              machine's; read from --rules DIR or THRAD_RULES_DIR)

Exit codes: 0 written, 1 store unreachable, 2 wrong usage.

Example:
  npx thrad-rules report --since 30d --out last-month.html && open last-month.html`;

const esc = (value: unknown): string =>
  String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const ACTION_COLOR: Record<string, string> = { pause: '#d64545', activate: '#2e9d5b', archive: '#6b7280', notify: '#3b6fd6' };

interface MetricPoint {
  atMs: number;
  observed: number | null;
  threshold: number | null;
  op: string;
  result: string;
}

/** The numeric leaves of an explanation: metric@window → observed and threshold. */
function metricLeaves(explanation: unknown, into: Map<string, { observed: number | null; threshold: number | null; op: string; result: string }> = new Map()) {
  if (explanation === null || typeof explanation !== 'object') return into;
  const node = explanation as Record<string, unknown>;
  if (Array.isArray(node.children)) for (const child of node.children) metricLeaves(child, into);
  if (node.child !== undefined) metricLeaves(node.child, into);
  if (node.kind === 'metric' || node.kind === 'compare') {
    const threshold = typeof node.threshold === 'number' ? node.threshold : null;
    into.set(`${String(node.metric)}@${String(node.window)}`, { observed: typeof node.observed === 'number' ? node.observed : null, threshold, op: String(node.op), result: String(node.result) });
  }
  return into;
}

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
      const color = ACTION_COLOR[d.action ?? 'notify'] ?? '#111827';
      const fill = d.outcome === 'acted' ? color : 'white';
      const title = `${localStamp(d.evaluated_at, timeZone)} ${d.rule_id}: ${d.action ?? ''} ${d.level} "${d.entity_name}" → ${d.outcome}${d.explanation ? ` (${describeExplanation(d.explanation, 'match')})` : ''} [${d.decision_id}]`;
      const shape = d.outcome === 'failed' ? `<path d="M ${Number(cx) - 6} ${y - 6} L ${Number(cx) + 6} ${y + 6} M ${Number(cx) - 6} ${y + 6} L ${Number(cx) + 6} ${y - 6}" stroke="${color}" stroke-width="2.5"/>` : d.action === 'activate' ? `<path d="M ${cx} ${y - 7} L ${Number(cx) + 7} ${y + 6} L ${Number(cx) - 7} ${y + 6} Z" fill="${fill}" stroke="${color}" stroke-width="2"/>` : d.action === 'pause' ? `<path d="M ${cx} ${y + 7} L ${Number(cx) + 7} ${y - 6} L ${Number(cx) - 7} ${y - 6} Z" fill="${fill}" stroke="${color}" stroke-width="2"/>` : `<circle cx="${cx}" cy="${y}" r="6" fill="${fill}" stroke="${color}" stroke-width="2"/>`;
      parts.push(`<g class="action" data-decision="${esc(d.decision_id)}"><title>${esc(title)}</title>${shape}</g>`);
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

function metricChart(name: string, points: readonly MetricPoint[], fromMs: number, toMs: number, timeZone: string): string {
  const width = 460;
  const height = 150;
  const pad = 36;
  const values = points.flatMap((p) => [p.observed, p.threshold]).filter((v): v is number => v !== null);
  const max = Math.max(...values, 0) * 1.15 || 1;
  const min = Math.min(...values, 0);
  const x = (ms: number): number => pad + ((ms - fromMs) / Math.max(1, toMs - fromMs)) * (width - pad - 10);
  const y = (v: number): number => height - 20 - ((v - min) / Math.max(1e-12, max - min)) * (height - 40);
  const metric = name.split('@')[0] ?? '';
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(name)} at each action">`];
  parts.push(`<text x="${pad}" y="12" font-size="11" font-weight="bold">${esc(name)}</text>`);
  parts.push(`<line x1="${pad}" y1="${height - 20}" x2="${width - 10}" y2="${height - 20}" stroke="#9ca3af"/>`);
  parts.push(`<text x="${pad - 4}" y="${y(max / 1.15).toFixed(1)}" font-size="9" text-anchor="end" fill="#6b7280">${esc(formatNumber(max / 1.15, metric))}</text>`);
  for (const p of points) {
    const px = x(p.atMs).toFixed(1);
    if (p.threshold !== null) parts.push(`<line x1="${Number(px) - 9}" y1="${y(p.threshold).toFixed(1)}" x2="${Number(px) + 9}" y2="${y(p.threshold).toFixed(1)}" stroke="#f59e0b" stroke-width="2" stroke-dasharray="3 2"><title>threshold ${esc(p.op)} ${esc(formatNumber(p.threshold, metric))}</title></line>`);
    if (p.observed !== null) parts.push(`<circle cx="${px}" cy="${y(p.observed).toFixed(1)}" r="4.5" fill="${p.result === 'match' ? '#d64545' : '#2563eb'}"><title>${esc(`${localStamp(new Date(p.atMs).toISOString(), timeZone)}: ${formatNumber(p.observed, metric)}`)}</title></circle>`);
  }
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

/** The page; human-readable times in `timeZone` (default UTC), with its abbreviation. */
export function renderReport(records: readonly DecisionRecord[], options: { accountId: string; fromMs: number; toMs: number; generatedAt: string; timeZone?: string; repeats?: readonly RunRepeat[] }): string {
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
  const sections = list.map((c) => {
    const mine = sorted.filter((d) => (d.campaign_id ?? d.entity_id) === c.id);
    const series = new Map<string, MetricPoint[]>();
    for (const d of mine) {
      for (const [name, leaf] of metricLeaves(d.explanation)) series.set(name, [...(series.get(name) ?? []), { atMs: Date.parse(d.evaluated_at), ...leaf }]);
    }
    const charts = [...series.entries()].map(([name, points]) => metricChart(name, points, options.fromMs, options.toMs, timeZone)).join('');
    const rows = mine
      .map(
        (d) =>
          `<tr class="${esc(d.outcome)}"><td>${esc(localStamp(d.evaluated_at, timeZone))}</td><td>${esc(d.rule_id)}</td><td>${esc(d.level)} ${esc(d.entity_name)}</td><td><span class="badge" style="background:${ACTION_COLOR[d.action ?? 'notify'] ?? '#111'}">${esc(d.action ?? '-')}</span></td><td>${esc(d.outcome)}${d.mode === 'dry_run' ? ' (dry run)' : ''}</td><td>${esc(d.explanation ? describeExplanation(d.explanation, 'match') : d.reason)}</td><td><code>${esc(d.decision_id)}</code></td></tr>`,
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
.charts { display: flex; flex-wrap: wrap; gap: 8px; } svg { max-width: 100%; height: auto; }
.legend span { margin-right: 14px; font-size: 12px; }
</style>
</head>
<body>
<h1>Thrad autopilot report</h1>
<p class="muted">Ad account ${esc(options.accountId)} · ${esc(period)} · generated ${esc(options.generatedAt)}</p>
<p class="totals"><span><b>${count('acted')}</b> actions</span><span><b>${count('would_act')}</b> dry-run</span><span><b>${count('failed')}</b> failed</span><span><b>${list.length}</b> campaigns</span>${repeats.length > 0 ? `<span><b>${repeats.reduce((sum, r) => sum + r.count, 0)}</b> repeated unchanged</span>` : ''}</p>
${repeatsSection(repeats, timeZone)}
${sorted.length === 0 ? '<p>No automated actions in this period.</p>' : `<h2>Timeline of automated actions</h2>
<p class="legend"><span style="color:${ACTION_COLOR.pause}">▼ pause</span><span style="color:${ACTION_COLOR.activate}">▲ activate</span><span style="color:${ACTION_COLOR.archive}">● archive</span><span style="color:${ACTION_COLOR.notify}">● notify</span><span>hollow: dry run</span><span>✕ failed</span></p>
${timeline(sorted, list, options.fromMs, options.toMs, timeZone)}
<p class="muted">Per campaign below: each metric that decided, as observed (red when it triggered) against its threshold (dashed), and every action with its values.</p>
${sections.join('\n')}`}
</body>
</html>
`;
}

export async function reportCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, { since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string' }, utc: { type: 'boolean' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, ctx.io, REPORT_HELP);
  if (values.help) {
    ctx.io.out(REPORT_HELP);
    return EXIT.ok;
  }
  checkTimeFlag('--since', values.since, '--since 30d');
  checkTimeFlag('--until', values.until, '--until 1d');
  return withEnvironment(ctx, { rules: values.rules }, false, async (environment, config) => {
    const now = environment.clock.nowMs();
    const fromMs = parseTime(values.since ?? '7d', now) ?? now;
    const toMs = values.until === undefined ? now : (parseTime(values.until, now) ?? now);
    if (toMs <= fromMs) {
      throw new UsageError(`--since ${values.since ?? '7d'} is not before --until ${values.until ?? '(now)'}: the report covers the time from --since to --until.`, 'Give a --since before the --until, e.g. --since 30d --until 1d, or leave --until out for "until now".');
    }
    const timeZone = displayTimeZone(config, ctx, values.utc);
    const accountId = await environment.accountId();
    const records = await environment.store.queryDecisions(accountId, { actionsOnly: true, sinceMs: fromMs, untilMs: toMs, limit: 10_000 });
    const repeats = repeatTotals(await environment.store.listRuns(accountId, { sinceMs: fromMs, untilMs: toMs, limit: 100_000 }));
    const out = resolve(ctx.cwd, values.out ?? 'thrad-autopilot-report.html');
    writeFileSync(out, renderReport(records, { accountId, fromMs, toMs, generatedAt: localStamp(new Date().toISOString(), timeZone), timeZone, repeats }));
    ctx.io.out(`Wrote ${out}: ${records.length} actions across ${new Set(records.map((r) => r.campaign_id ?? r.entity_id)).size} campaigns, ${localStamp(new Date(fromMs).toISOString(), timeZone)} – ${localStamp(new Date(toMs).toISOString(), timeZone)}.`);
    return EXIT.ok;
  });
}
