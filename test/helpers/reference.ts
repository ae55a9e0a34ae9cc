// A straightforward reference interpreter of the rule language, written independently of the
// compiler (no slots, no closures): the property tests check the compiled evaluator against it.
import type { Condition, Rule } from '../../functions/rules/schema';
import type { PlainWindows } from './rules';

export interface PlainEntity {
  status: string;
  review_status: string | null;
  name: string;
  lifetime_budget_usd: number | null;
  max_bid_usd?: number | null;
  start_time_ms: number | null;
  end_time_ms: number | null;
  campaign_status?: string | null;
  ad_group_status?: string | null;
  windows: PlainWindows;
}

type Tri = 'match' | 'no_match' | 'insufficient_data';

function metricValue(rule: Rule, metric: string, window: string | undefined, e: PlainEntity): number | undefined {
  const w = e.windows[metric === 'budget_spent_fraction' ? 'lifetime' : (window as string)] ?? {};
  const imp = w.impressions ?? 0;
  const clk = w.clicks ?? 0;
  const spend = w.spendUsd ?? 0;
  const min = rule.guards.min_data;
  const enough = !min || (imp >= (min.impressions ?? 0) && clk >= (min.clicks ?? 0) && spend >= (min.spend ?? 0));
  switch (metric) {
    case 'impressions':
      return imp;
    case 'clicks':
      return clk;
    case 'spend':
      return spend;
    case 'ctr':
      return imp === 0 || !enough ? undefined : clk / imp;
    case 'cpc':
      return clk === 0 || !enough ? undefined : spend / clk;
    case 'cpm':
      return imp === 0 || !enough ? undefined : (spend / imp) * 1000;
    case 'budget_spent_fraction':
      return e.lifetime_budget_usd ? spend / e.lifetime_budget_usd : undefined;
    default:
      throw new Error(`unknown metric ${metric}`);
  }
}

function compare(op: string, x: number, value: unknown): boolean {
  if (op === 'gt') return x > (value as number);
  if (op === 'gte') return x >= (value as number);
  if (op === 'lt') return x < (value as number);
  if (op === 'lte') return x <= (value as number);
  if (op === 'eq') return x === value;
  if (op === 'neq') return x !== value;
  if (op === 'between') return x >= (value as number[])[0] && x <= (value as number[])[1];
  if (op === 'in') return (value as number[]).includes(x);
  if (op === 'not_in') return !(value as number[]).includes(x);
  throw new Error(`op ${op}`);
}

function timeOf(value: string, now: number): number {
  const m = /^now(?:([+-])(\d+)([mhd]))?$/.exec(value);
  if (!m) return Date.parse(value);
  if (!m[1]) return now;
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[3] as 'm' | 'h' | 'd'];
  return now + (m[1] === '+' ? 1 : -1) * Number(m[2]) * unit;
}

export function referenceEvaluate(rule: Rule, node: Condition, e: PlainEntity, now: number): Tri {
  if ('all' in node) {
    const results = node.all.map((c) => referenceEvaluate(rule, c, e, now));
    return results.includes('no_match') ? 'no_match' : results.includes('insufficient_data') ? 'insufficient_data' : 'match';
  }
  if ('any' in node) {
    const results = node.any.map((c) => referenceEvaluate(rule, c, e, now));
    return results.includes('match') ? 'match' : results.includes('insufficient_data') ? 'insufficient_data' : 'no_match';
  }
  if ('not' in node) {
    const r = referenceEvaluate(rule, node.not, e, now);
    return r === 'match' ? 'no_match' : r === 'no_match' ? 'match' : r;
  }
  if ('compare_to' in node) {
    const a = metricValue(rule, node.metric, node.window, e);
    const b = metricValue(rule, node.compare_to.metric, node.compare_to.window, e);
    if (a === undefined || b === undefined) return 'insufficient_data';
    return compare(node.op, a, b * node.compare_to.multiplier) ? 'match' : 'no_match';
  }
  if ('metric' in node) {
    const x = metricValue(rule, node.metric, node.window, e);
    if (x === undefined) return 'insufficient_data';
    return compare(node.op, x, node.value) ? 'match' : 'no_match';
  }
  const field = node.field;
  const observed: unknown = field === 'start_time' ? e.start_time_ms : field === 'end_time' ? e.end_time_ms : (e[field] ?? null);
  let ok: boolean;
  if (node.op === 'contains') ok = String(observed).toLowerCase().includes(String(node.value).toLowerCase());
  else if (node.op === 'in') ok = (node.value as unknown[]).includes(observed);
  else if (node.op === 'not_in') ok = !(node.value as unknown[]).includes(observed);
  else if (node.value === null) ok = node.op === 'eq' ? observed === null : observed !== null;
  else if (field === 'start_time' || field === 'end_time') {
    if (observed === null) ok = node.op === 'neq';
    else if (node.op === 'between') ok = compare('between', observed as number, (node.value as string[]).map((v) => timeOf(v, now)));
    else ok = compare(node.op, observed as number, timeOf(node.value as string, now));
  } else if (field === 'lifetime_budget_usd') ok = observed !== null && compare(node.op, observed as number, node.value);
  else ok = node.op === 'eq' ? observed === node.value : observed !== node.value;
  return ok ? 'match' : 'no_match';
}
