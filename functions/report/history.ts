// Metric history around decisions, for the report's charts (and, later, the console): which
// metric of which entity to chart over which span, the few insights reads that fetch them all,
// and the series drawn from their answers. A read is a time series of base counts (impressions,
// clicks, spend) per UTC bucket, hourly for windows of at most 3 days and daily beyond; derived
// metrics are computed per bucket with the engine's own formulas (vocabulary.ts). Reads are batched
// per (aggregation level, granularity, span): one series read serves every chart of its batch,
// never one read per decision. A read whose answer does not match its question (the client's
// answer guard), or that fails, makes its charts "history unavailable" with the reason: never data.
import type { DecisionRecord } from '../audit/records';
import { BASE_COUNTS, METRIC_INFO, metricFromTotals, type BaseTotals, type Metric, isMetric } from '../rules/vocabulary';
import { insightsBucket } from '../thrad/answer-guard';
import type { ThradClient, TimeRange } from '../thrad/client';
import { closedRange, type Level } from '../thrad/wire';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Windows up to this long are charted hourly; longer ones daily. */
export const HOURLY_MAX_WINDOW_MS = 3 * DAY_MS;
/** The API's limit on one hourly range is 25 hours: hourly spans are read in whole days. */
const HOURLY_RANGE_MS = DAY_MS;
const DAILY_RANGE_MS = 366 * DAY_MS;
/** Two charts of one level and granularity share a read when their spans are this close. */
const MERGE_GAP_MS = DAY_MS;

export type SeriesGranularity = 'hourly' | 'daily';

/** Decisions that have metric values to chart (the ones that did, or would have, acted). */
export const CHARTED_OUTCOMES: ReadonlySet<string> = new Set(['acted', 'would_act', 'awaiting_approval', 'failed', 'approved', 'rejected', 'expired']);

/** One metric leaf of one decision: what it saw over which window, against which threshold. */
export interface DecisionLeaf {
  decision: DecisionRecord;
  observed: number | null;
  thresholds: readonly number[];
  op: string;
  result: string;
  /** The range the decision read (Unix ms). */
  windowStartMs: number;
  windowEndMs: number;
}

/** One chart: an entity's metric over a window name, for one rule, around its decisions. */
export interface ChartSpec {
  key: string;
  ruleId: string;
  level: Level;
  entityId: string;
  entityName: string;
  campaignId: string;
  metric: Metric;
  window: string;
  /**
   * `pacing`: cumulative spend against the lifetime budget (budget rules); `total`: a count
   * (impressions, clicks, spend) as a running total from the first window's start, which reaches
   * the value that decided at that window's end; `metric`: a ratio (ctr, cpc, cpm) per bucket.
   */
  kind: 'metric' | 'total' | 'pacing';
  granularity: SeriesGranularity;
  spanStartMs: number;
  spanEndMs: number;
  leaves: DecisionLeaf[];
}

export interface SeriesPoint {
  startMs: number;
  endMs: number;
  totals: BaseTotals;
}

export interface PacingPoint {
  /** The end of the bucket: spend up to then. */
  atMs: number;
  cumulativeSpendUsd: number;
  /** The lifetime budget in force then (null when unknown). */
  budgetUsd: number | null;
}

export type ChartHistory =
  | { available: true; points: { startMs: number; endMs: number; value: number | null }[]; pacing?: PacingPoint[] }
  | { available: false; reason: string };

/** One insights series read: a level and granularity, the entities and the span its charts need. */
export interface SeriesRead {
  level: Level;
  granularity: SeriesGranularity;
  entityIds: string[];
  startMs: number;
  endMs: number;
  charts: ChartSpec[];
}

interface LeafShape {
  kind: string;
  metric?: unknown;
  window?: unknown;
  op?: unknown;
  threshold?: unknown;
  observed?: unknown;
  result?: unknown;
  children?: unknown;
  child?: unknown;
}

/** The metric and compare leaves of an explanation tree. */
export function metricLeaves(explanation: unknown, into: LeafShape[] = []): LeafShape[] {
  if (explanation === null || typeof explanation !== 'object') return into;
  const node = explanation as LeafShape;
  if (Array.isArray(node.children)) for (const child of node.children) metricLeaves(child, into);
  if (node.child !== undefined) metricLeaves(node.child, into);
  if (node.kind === 'metric' || node.kind === 'compare') into.push(node);
  return into;
}

const floorHour = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;
const ceilHour = (ms: number): number => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/**
 * The charts for a report's decisions. `nowMs` is the API's clock (history ends at its last
 * complete hour). A chart spans the windows its decisions read, through the last decision, and a
 * little after it (a tenth of the window, at least one bucket) to show what the action changed.
 */
export function planCharts(records: readonly DecisionRecord[], nowMs: number): ChartSpec[] {
  const charts = new Map<string, ChartSpec>();
  const lastFullHourMs = floorHour(nowMs);
  for (const decision of records) {
    if (!CHARTED_OUTCOMES.has(decision.outcome)) continue;
    for (const leaf of metricLeaves(decision.explanation)) {
      const metric = typeof leaf.metric === 'string' && isMetric(leaf.metric) ? leaf.metric : undefined;
      const windowName = typeof leaf.window === 'string' ? leaf.window : undefined;
      if (metric === undefined || windowName === undefined) continue;
      const window = decision.windows.find((w) => w.name === windowName);
      if (!window) continue;
      const windowStartMs = Date.parse(window.start);
      const windowEndMs = Date.parse(window.end);
      if (!(windowEndMs > windowStartMs)) continue;
      const thresholds = (Array.isArray(leaf.threshold) ? leaf.threshold : [leaf.threshold]).filter((t): t is number => typeof t === 'number');
      const formula = METRIC_INFO[metric].formula.kind;
      const kind = formula === 'budget_share' ? 'pacing' : formula === 'count' ? 'total' : 'metric';
      const key = `${decision.rule_id}|${decision.level}|${decision.entity_id}|${metric}@${windowName}`;
      const item: DecisionLeaf = {
        decision,
        observed: typeof leaf.observed === 'number' ? leaf.observed : null,
        thresholds,
        op: String(leaf.op),
        result: String(leaf.result),
        windowStartMs,
        windowEndMs,
      };
      const existing = charts.get(key);
      if (existing) existing.leaves.push(item);
      else {
        charts.set(key, {
          key,
          ruleId: decision.rule_id,
          level: decision.level,
          entityId: decision.entity_id,
          entityName: decision.entity_name,
          campaignId: decision.campaign_id ?? decision.entity_id,
          metric,
          window: windowName,
          kind,
          granularity: 'hourly',
          spanStartMs: 0,
          spanEndMs: 0,
          leaves: [item],
        });
      }
    }
  }
  for (const chart of charts.values()) {
    const longest = Math.max(...chart.leaves.map((l) => l.windowEndMs - l.windowStartMs));
    chart.granularity = longest <= HOURLY_MAX_WINDOW_MS ? 'hourly' : 'daily';
    const bucketMs = chart.granularity === 'hourly' ? HOUR_MS : DAY_MS;
    const start = floorHour(Math.min(...chart.leaves.map((l) => l.windowStartMs)));
    const lastDecisionMs = Math.max(...chart.leaves.map((l) => Math.max(l.windowEndMs, Date.parse(l.decision.evaluated_at))));
    const tail = Math.max(bucketMs, ceilHour(longest / 10));
    chart.spanStartMs = start;
    chart.spanEndMs = Math.max(start, Math.min(lastFullHourMs, ceilHour(lastDecisionMs + tail)));
  }
  return [...charts.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** The reads that fetch every chart's history: per level and granularity, spans close together share one. */
export function planReads(charts: readonly ChartSpec[]): SeriesRead[] {
  const reads: SeriesRead[] = [];
  const groups = new Map<string, ChartSpec[]>();
  for (const chart of charts) {
    if (chart.spanEndMs <= chart.spanStartMs) continue;
    const key = `${chart.level}|${chart.granularity}`;
    groups.set(key, [...(groups.get(key) ?? []), chart]);
  }
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => a.spanStartMs - b.spanStartMs);
    let current: SeriesRead | undefined;
    for (const chart of sorted) {
      if (current && chart.spanStartMs <= current.endMs + MERGE_GAP_MS) {
        current.endMs = Math.max(current.endMs, chart.spanEndMs);
        current.charts.push(chart);
        if (!current.entityIds.includes(chart.entityId)) current.entityIds.push(chart.entityId);
      } else {
        current = { level: chart.level, granularity: chart.granularity, entityIds: [chart.entityId], startMs: chart.spanStartMs, endMs: chart.spanEndMs, charts: [chart] };
        reads.push(current);
      }
    }
  }
  return reads;
}

/** The ranges a read asks for: whole hours, hourly in one-day pieces (the API allows 25 h), daily in 366-day pieces. */
export function readTimeRanges(read: Pick<SeriesRead, 'granularity' | 'startMs' | 'endMs'>): TimeRange[] {
  const piece = read.granularity === 'hourly' ? HOURLY_RANGE_MS : DAILY_RANGE_MS;
  const ranges: TimeRange[] = [];
  for (let s = read.startMs; s < read.endMs; s += piece) ranges.push({ startSeconds: s / 1000, endSeconds: Math.min(read.endMs, s + piece) / 1000 });
  return ranges;
}

/** Every bucket of the ranges (an entity without a row in one had no delivery there: zeros). */
function bucketGrid(granularity: SeriesGranularity, ranges: readonly TimeRange[]): TimeRange[] {
  const grid: TimeRange[] = [];
  for (const range of ranges) {
    for (let t = range.startSeconds; t < range.endSeconds; ) {
      const bucket = insightsBucket(granularity, t, range);
      grid.push(bucket);
      t = bucket.endSeconds;
    }
  }
  return grid;
}

const ZERO: BaseTotals = { impressions: 0, clicks: 0, spend: 0 };

/** The per-bucket base counts of each entity of a read, over the read's whole bucket grid. */
export async function readSeries(client: ThradClient, read: SeriesRead): Promise<Map<string, SeriesPoint[]>> {
  const ranges = readTimeRanges(read);
  const rows = await client.insights({
    scope: { level: 'ad_account' },
    aggregationLevel: read.level,
    timeGranularity: read.granularity,
    fields: BASE_COUNTS,
    timeRanges: ranges,
    filters: [{ field: `${read.level}.id`, operator: 'in', value: read.entityIds }],
  });
  const byEntity = new Map<string, Map<number, BaseTotals>>();
  for (const row of rows) {
    const buckets = byEntity.get(row.entityId) ?? new Map<number, BaseTotals>();
    byEntity.set(row.entityId, buckets);
    const before = buckets.get(row.startTime) ?? ZERO;
    buckets.set(row.startTime, { impressions: before.impressions + (row.impressions ?? 0), clicks: before.clicks + (row.clicks ?? 0), spend: before.spend + (row.spend_usd ?? 0) });
  }
  const grid = bucketGrid(read.granularity, ranges);
  const out = new Map<string, SeriesPoint[]>();
  for (const id of read.entityIds) {
    const buckets = byEntity.get(id);
    out.set(id, grid.map((b) => ({ startMs: b.startSeconds * 1000, endMs: b.endSeconds * 1000, totals: buckets?.get(b.startSeconds) ?? ZERO })));
  }
  return out;
}

/** A lifetime budget over time: the current one, stepped back through the budget changes on record. */
export interface BudgetHistory {
  currentUsd: number | null;
  /** Budget changes that were made (acted), oldest first. */
  changes: { atMs: number; beforeUsd: number; afterUsd: number }[];
}

export function budgetAt(history: BudgetHistory, atMs: number): number | null {
  const next = history.changes.find((c) => c.atMs > atMs);
  return next ? next.beforeUsd : history.currentUsd;
}

/** A chart's history from its entity's series: values per bucket, and for pacing the cumulative spend. */
export function chartHistory(chart: ChartSpec, series: readonly SeriesPoint[], budget?: BudgetHistory): ChartHistory {
  const inSpan = series.filter((p) => p.startMs >= chart.spanStartMs && p.endMs <= chart.spanEndMs);
  if (chart.kind === 'pacing') {
    let cumulative = 0;
    const pacing: PacingPoint[] = [];
    const points = inSpan.map((p) => {
      cumulative += p.totals.spend;
      const budgetUsd = budget ? budgetAt(budget, p.endMs) : null;
      pacing.push({ atMs: p.endMs, cumulativeSpendUsd: cumulative, budgetUsd });
      return { startMs: p.startMs, endMs: p.endMs, value: metricFromTotals(chart.metric, { ...p.totals, spend: cumulative }, budgetUsd) };
    });
    return { available: true, points, pacing };
  }
  if (chart.kind === 'total') {
    let running: BaseTotals = ZERO;
    return {
      available: true,
      points: inSpan.map((p) => {
        running = { impressions: running.impressions + p.totals.impressions, clicks: running.clicks + p.totals.clicks, spend: running.spend + p.totals.spend };
        return { startMs: p.startMs, endMs: p.endMs, value: metricFromTotals(chart.metric, running) };
      }),
    };
  }
  return { available: true, points: inSpan.map((p) => ({ startMs: p.startMs, endMs: p.endMs, value: metricFromTotals(chart.metric, p.totals) })) };
}

export interface HistoryResult {
  histories: Map<string, ChartHistory>;
  /** Why some history is missing (one entry per failed read). */
  failures: string[];
}

/** One line for a failed read: the error's message, without a stack. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Read the history of every chart through `client`: the campaigns once when a chart needs a
 * lifetime budget, then one series read per batch. A failed read marks its charts unavailable;
 * it never throws.
 */
export async function readHistories(
  charts: readonly ChartSpec[],
  client: ThradClient,
  options: { budgetChanges: (campaignId: string) => BudgetHistory['changes'] },
): Promise<HistoryResult> {
  const histories = new Map<string, ChartHistory>();
  const failures: string[] = [];
  const reads = planReads(charts);
  const pacingCampaigns = [...new Set(charts.filter((c) => c.kind === 'pacing').map((c) => c.entityId))];
  let budgets: Map<string, number | null> | { error: string } | undefined;
  if (pacingCampaigns.length > 0) {
    try {
      budgets = new Map((await client.listCampaigns()).map((c) => [c.id, c.budget.lifetime_spend_limit_micros / 1_000_000]));
    } catch (error) {
      budgets = { error: reasonOf(error) };
      failures.push(`budgets: ${budgets.error}`);
    }
  }
  for (const read of reads) {
    let series: Map<string, SeriesPoint[]>;
    const span = closedSpan(read, client);
    // No range would be the API's default window: another question. Nothing closed: nothing to read.
    if (span.endMs <= span.startMs) continue;
    try {
      series = await readSeries(client, { ...read, ...span });
    } catch (error) {
      const reason = reasonOf(error);
      failures.push(reason);
      for (const chart of read.charts) histories.set(chart.key, { available: false, reason });
      continue;
    }
    for (const chart of read.charts) {
      let budget: BudgetHistory | undefined;
      if (chart.kind === 'pacing') {
        if (budgets === undefined || !(budgets instanceof Map)) {
          histories.set(chart.key, { available: false, reason: `no lifetime budget: ${budgets && !(budgets instanceof Map) ? budgets.error : 'not read'}` });
          continue;
        }
        budget = { currentUsd: budgets.get(chart.entityId) ?? null, changes: options.budgetChanges(chart.entityId) };
      }
      histories.set(chart.key, chartHistory(chart, series.get(chart.entityId) ?? [], budget));
    }
  }
  for (const chart of charts) if (!histories.has(chart.key)) histories.set(chart.key, { available: false, reason: 'no complete hour of history to read yet' });
  return { histories, failures };
}

/** A read never asks past the API's last complete hour (the reference rejects ranges in the future). */
function closedSpan(read: SeriesRead, client: ThradClient): { startMs: number; endMs: number } {
  const closed = closedRange(client.wireProfile, { startSeconds: read.startMs / 1000, endSeconds: read.endMs / 1000 }, client.clock.nowMs() / 1000);
  return { startMs: closed.startSeconds * 1000, endMs: Math.max(closed.startSeconds, closed.endSeconds) * 1000 };
}

/** Budget changes on record for a campaign (acted change_budget decisions), oldest first. */
export function budgetChangesFrom(records: readonly DecisionRecord[]): (campaignId: string) => BudgetHistory['changes'] {
  return (campaignId) =>
    records
      .filter((d) => d.action === 'change_budget' && d.outcome === 'acted' && d.entity_id === campaignId && d.value_before_micros !== null && d.value_after_micros !== null)
      .map((d) => ({ atMs: (d.entity_updated_at_after ?? Date.parse(d.evaluated_at) / 1000) * 1000, beforeUsd: (d.value_before_micros ?? 0) / 1_000_000, afterUsd: (d.value_after_micros ?? 0) / 1_000_000 }))
      .sort((a, b) => a.atMs - b.atMs);
}
