// The history plan on its own: which charts a report's decisions get, at which granularity and
// over which span, and that the reads are bounded by level and span, never one per decision.
import { describe, expect, it } from 'vitest';
import { decisionRecordSchema, type DecisionRecord } from '../../functions/audit/records';
import { budgetAt, planCharts, planReads, readTimeRanges } from '../../functions/report/history';

const H = 3_600_000;
const D = 24 * H;
const T = Date.parse('2026-11-20T03:00:00.000Z');

function decision(campaign: number, atMs: number, leaves: { metric: string; window: string; start: number; end: number; threshold: number }[], outcome = 'acted'): DecisionRecord {
  return decisionRecordSchema.parse({
    decision_id: `d_${campaign}_${atMs}`,
    run_id: 'r',
    account_id: 'acct',
    rule_id: leaves.map((l) => l.metric).join('+'),
    rule_version: 'v',
    level: 'campaign',
    entity_id: `c${campaign}`,
    entity_name: `Campaign ${campaign}`,
    campaign_id: `c${campaign}`,
    scheduled_time: new Date(atMs).toISOString(),
    evaluated_at: new Date(atMs).toISOString(),
    trigger: 'local',
    windows: leaves.map((l) => ({ name: l.window, timezone: 'UTC', start: new Date(l.start).toISOString(), end: new Date(l.end).toISOString() })),
    observed: {},
    explanation: { kind: 'all', result: 'match', children: leaves.map((l) => ({ kind: 'metric', result: 'match', metric: l.metric, window: l.window, op: 'gt', threshold: l.threshold, observed: l.threshold * 1.2 })) },
    outcome,
    reason: '',
    action: 'pause',
    mode: 'live',
    status_before: 'active',
    status_after: 'paused',
    api_result: null,
    expires_at: 0,
  });
}

const cpc3d = (at: number) => ({ metric: 'cpc', window: 'last_3_days', start: at - 3 * D - 3 * H, end: at - 3 * H, threshold: 2.5 });
const lifetime = (at: number) => ({ metric: 'budget_spent_fraction', window: 'lifetime', start: at - 90 * D, end: at, threshold: 0.9 });

describe('planCharts', () => {
  it('one chart per (rule, entity, metric@window): hourly up to 3-day windows, daily beyond; pacing for budget rules', () => {
    const records = [decision(1, T, [cpc3d(T)]), decision(1, T + 6 * H, [cpc3d(T + 6 * H)]), decision(2, T, [lifetime(T)])];
    const charts = planCharts(records, T + 2 * D);
    expect(charts.map((c) => [c.entityId, c.metric, c.kind, c.granularity, c.leaves.length])).toEqual([
      ['c2', 'budget_spent_fraction', 'pacing', 'daily', 1],
      ['c1', 'cpc', 'metric', 'hourly', 2],
    ]);
    const cpc = charts[1];
    // From the first window's start through the last decision, and a tenth of the window after it.
    expect(cpc?.spanStartMs).toBe(T - 3 * D - 3 * H);
    expect(cpc?.spanEndMs).toBe(Math.ceil((T + 6 * H + 0.3 * D) / H) * H);
  });

  it('skips outcomes that are not actions, and leaves without a recorded window; never reads past the last complete hour', () => {
    const noWindow = { ...decision(3, T, [cpc3d(T)]), windows: [] };
    expect(planCharts([decision(4, T, [cpc3d(T)], 'no_match'), noWindow], T)).toEqual([]);
    const [chart] = planCharts([decision(5, T, [cpc3d(T)])], T + 30 * 60_000);
    expect(chart?.spanEndMs).toBe(T);
  });
});

describe('planReads', () => {
  it('bounds the reads by level, granularity and span: 30 decisions over 10 campaigns cost two reads', () => {
    const records = Array.from({ length: 10 }, (_, c) => [0, 5, 30].map((h) => decision(c, T + h * H, [cpc3d(T + h * H), lifetime(T + h * H)]))).flat();
    const reads = planReads(planCharts(records, T + 3 * D));
    expect(reads.map((r) => [r.level, r.granularity, r.entityIds.length, r.charts.length])).toEqual([
      ['campaign', 'daily', 10, 10],
      ['campaign', 'hourly', 10, 10],
    ]);
    expect(reads.flatMap((r) => r.charts.map((c) => c.leaves.length))).toEqual(Array.from({ length: 20 }, () => 3));
    const hourly = reads[1];
    if (!hourly) throw new Error('no hourly read');
    const ranges = readTimeRanges(hourly);
    // The API allows hourly ranges of 25 h at most: whole days, covering the span exactly.
    expect(ranges.every((r) => r.endSeconds - r.startSeconds <= 24 * 3_600)).toBe(true);
    expect(ranges[0]?.startSeconds).toBe(hourly.startMs / 1000);
    expect(ranges[ranges.length - 1]?.endSeconds).toBe(hourly.endMs / 1000);
  });

  it('spans far apart are read apart (no month of hourly rows between two decisions)', () => {
    const reads = planReads(planCharts([decision(1, T, [cpc3d(T)]), decision(2, T + 20 * D, [cpc3d(T + 20 * D)])], T + 30 * D));
    expect(reads).toHaveLength(2);
  });
});

describe('budgetAt', () => {
  it('the budget in force: the current one, stepped back through the changes after that time', () => {
    const history = { currentUsd: 300, changes: [{ atMs: 10, beforeUsd: 100, afterUsd: 200 }, { atMs: 20, beforeUsd: 200, afterUsd: 300 }] };
    expect([5, 10, 15, 25].map((t) => budgetAt(history, t))).toEqual([100, 200, 200, 300]);
  });
});
