// Inline SVG charts for the report (and anything else that draws decisions): a metric's history
// as a line, its thresholds as lines across the chart, the windows the decisions read as bands,
// the values that decided as dots, and each decision as a marker at its time, in its action's
// colour. Pure string building: every text is escaped, nothing is fetched, no script. Elements
// carry data-* attributes with their exact times and values, so a reader (or a test) can check the
// drawing against the data.
import type { ActionName } from '../actions/registry';
import { formatNumber } from '../engine/describe';
import { localStamp, shortStamp } from '../local/format';

export const esc = (value: unknown): string =>
  String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** One colour per action (the compiler checks every action has one). */
export const ACTION_COLOR: Record<ActionName, string> = {
  pause: '#d64545',
  activate: '#2e9d5b',
  archive: '#6b7280',
  notify: '#3b6fd6',
  change_budget: '#b7791f',
  change_bid: '#8b5cf6',
};

export const actionColor = (action: ActionName | null): string => (action === null ? '#111827' : ACTION_COLOR[action]);

/** Outcomes drawn hollow: nothing was changed (yet). */
const HOLLOW = new Set(['would_act', 'awaiting_approval', 'approved', 'rejected', 'expired']);

export interface ChartMarker {
  atMs: number;
  action: ActionName | null;
  outcome: string;
  decisionId: string;
  title: string;
}

export interface LineChartInput {
  title: string;
  /** How values are formatted (a metric name: `cpc` → $, `ctr` → %). */
  format: string;
  fromMs: number;
  toMs: number;
  timeZone: string;
  /** The series, one point per bucket (null: undefined there, the line breaks). */
  line: readonly { atMs: number; value: number | null }[];
  lineLabel: string;
  thresholds: readonly { value: number; label: string }[];
  /** A stepped line (the lifetime budget) over the chart. */
  budget?: readonly { atMs: number; value: number | null }[];
  /** The ranges the decisions read. */
  bands: readonly { fromMs: number; toMs: number; label: string }[];
  /** The values that decided, at the decision times. */
  observed: readonly { atMs: number; value: number; label: string }[];
  markers: readonly ChartMarker[];
}

const WIDTH = 720;
const HEIGHT = 210;
const LEFT = 58;
const RIGHT = 12;
const TOP = 24;
const BOTTOM = 26;

const iso = (ms: number): string => new Date(ms).toISOString();

/** An SVG line chart; see LineChartInput. */
export function lineChart(input: LineChartInput): string {
  const span = Math.max(1, input.toMs - input.fromMs);
  const x = (ms: number): number => LEFT + ((Math.min(Math.max(ms, input.fromMs), input.toMs) - input.fromMs) / span) * (WIDTH - LEFT - RIGHT);
  const values = [
    ...input.line.map((p) => p.value),
    ...input.thresholds.map((t) => t.value),
    ...(input.budget ?? []).map((b) => b.value),
    ...input.observed.map((o) => o.value),
  ].filter((v): v is number => v !== null && Number.isFinite(v));
  const top = Math.max(0, ...values) * 1.1 || 1;
  const bottom = Math.min(0, ...values);
  const y = (v: number): number => HEIGHT - BOTTOM - ((v - bottom) / Math.max(1e-12, top - bottom)) * (HEIGHT - TOP - BOTTOM);
  const f = (n: number): string => n.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${esc(input.title)}" data-from="${iso(input.fromMs)}" data-to="${iso(input.toMs)}">`,
    `<text x="${LEFT}" y="14" font-size="12" font-weight="bold">${esc(input.title)}</text>`,
  ];
  for (const band of input.bands) {
    parts.push(`<rect class="window" x="${f(x(band.fromMs))}" y="${TOP}" width="${f(Math.max(1, x(band.toMs) - x(band.fromMs)))}" height="${HEIGHT - TOP - BOTTOM}" fill="#eef2ff" data-from="${iso(band.fromMs)}" data-to="${iso(band.toMs)}"><title>${esc(band.label)}</title></rect>`);
  }
  // Axes: value ticks at 0, middle and top; time ticks at five points.
  for (const v of [bottom, (bottom + top / 1.1) / 2, top / 1.1]) {
    parts.push(`<line x1="${LEFT}" y1="${f(y(v))}" x2="${WIDTH - RIGHT}" y2="${f(y(v))}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${LEFT - 4}" y="${f(y(v) + 3)}" font-size="9" text-anchor="end" fill="#6b7280">${esc(formatNumber(v, input.format))}</text>`);
  }
  for (let i = 0; i <= 4; i += 1) {
    const t = input.fromMs + (span * i) / 4;
    parts.push(`<text x="${f(x(t))}" y="${HEIGHT - 8}" font-size="9" text-anchor="${i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}" fill="#6b7280">${esc(shortStamp(iso(t), input.timeZone))}</text>`);
  }
  if (input.budget && input.budget.length > 0) {
    // Only where the budget changes: one horizontal line per budget in force.
    const steps = input.budget.filter((b): b is { atMs: number; value: number } => b.value !== null).filter((b, i, all) => i === 0 || all[i - 1]?.value !== b.value);
    if (steps.length > 0) {
      const d = steps.map((b, i) => `${i === 0 ? 'M' : 'H'} ${f(x(b.atMs))} ${i === 0 ? f(y(b.value)) : `V ${f(y(b.value))}`}`).join(' ');
      const last = steps[steps.length - 1];
      parts.push(`<path class="budget" d="${d} H ${f(x(input.toMs))}" fill="none" stroke="#111827" stroke-width="1.5" data-value="${last.value}"><title>${esc(`lifetime budget ${formatNumber(last.value, 'spend')}`)}</title></path>`);
    }
  }
  for (const t of input.thresholds) {
    parts.push(`<line class="threshold" x1="${LEFT}" y1="${f(y(t.value))}" x2="${WIDTH - RIGHT}" y2="${f(y(t.value))}" stroke="#f59e0b" stroke-width="1.5" stroke-dasharray="5 3" data-value="${t.value}"><title>${esc(t.label)}</title></line>`);
    parts.push(`<text x="${WIDTH - RIGHT - 2}" y="${f(y(t.value) - 3)}" font-size="9" text-anchor="end" fill="#b45309">${esc(t.label)}</text>`);
  }
  // The series: one polyline per run of defined values, and a point per bucket with its value.
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 1) parts.push(`<polyline class="series" points="${run.join(' ')}" fill="none" stroke="#2563eb" stroke-width="1.6"/>`);
    else if (run.length === 1) parts.push(`<polyline class="series" points="${run[0] ?? ''}" fill="none" stroke="#2563eb" stroke-width="1.6"/>`);
    run = [];
  };
  for (const p of input.line) {
    if (p.value === null || !Number.isFinite(p.value)) {
      flush();
      continue;
    }
    run.push(`${f(x(p.atMs))},${f(y(p.value))}`);
  }
  flush();
  for (const p of input.line) {
    if (p.value === null || !Number.isFinite(p.value)) continue;
    parts.push(`<circle class="point" cx="${f(x(p.atMs))}" cy="${f(y(p.value))}" r="1.6" fill="#2563eb" data-at="${iso(p.atMs)}" data-value="${p.value}"><title>${esc(`${localStamp(iso(p.atMs), input.timeZone)}: ${input.lineLabel} ${formatNumber(p.value, input.format)}`)}</title></circle>`);
  }
  for (const m of input.markers) {
    const color = actionColor(m.action);
    const mx = f(x(m.atMs));
    const hollow = HOLLOW.has(m.outcome);
    const head =
      m.outcome === 'failed'
        ? `<path d="M ${Number(mx) - 5} ${TOP - 2} L ${Number(mx) + 5} ${TOP + 8} M ${Number(mx) - 5} ${TOP + 8} L ${Number(mx) + 5} ${TOP - 2}" stroke="${color}" stroke-width="2.2"/>`
        : `<path d="M ${mx} ${TOP + 8} L ${Number(mx) + 5} ${TOP - 1} L ${Number(mx) - 5} ${TOP - 1} Z" fill="${hollow ? 'white' : color}" stroke="${color}" stroke-width="1.6"/>`;
    parts.push(`<g class="marker" data-at="${iso(m.atMs)}" data-decision="${esc(m.decisionId)}" data-action="${esc(m.action ?? '')}" data-outcome="${esc(m.outcome)}"><title>${esc(m.title)}</title><line x1="${mx}" y1="${TOP}" x2="${mx}" y2="${HEIGHT - BOTTOM}" stroke="${color}" stroke-width="1.4"${hollow ? ' stroke-dasharray="3 2"' : ''}/>${head}</g>`);
  }
  for (const o of input.observed) {
    parts.push(`<circle class="observed" cx="${f(x(o.atMs))}" cy="${f(y(o.value))}" r="4" fill="#d64545" stroke="white" stroke-width="1" data-at="${iso(o.atMs)}" data-value="${o.value}"><title>${esc(o.label)}</title></circle>`);
  }
  parts.push(`<line x1="${LEFT}" y1="${HEIGHT - BOTTOM}" x2="${WIDTH - RIGHT}" y2="${HEIGHT - BOTTOM}" stroke="#9ca3af"/>`);
  parts.push('</svg>');
  return parts.join('');
}

/** In place of a chart whose history could not be read: the title and why. */
export function unavailableChart(title: string, reason: string): string {
  return `<div class="chart unavailable"><b>${esc(title)}</b><p>history unavailable: ${esc(reason)}</p></div>`;
}
