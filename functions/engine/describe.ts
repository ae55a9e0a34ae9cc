// Decisions and explanations in words: the lines a person reads in the console, the digest and
// the CLI ("paused Trail Runners: cpc over last_3_days 3.10 > 2.50, clicks 330 ≥ 100").
import { isActionName, ACTIONS } from '../actions/registry';
import type { DecisionRecord } from '../audit/records';

const OP_SYMBOL: Record<string, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤', eq: '=', neq: '≠', in: 'in', not_in: 'not in', between: 'between', contains: 'contains' };

export function formatNumber(value: unknown, metric?: string): string {
  if (typeof value !== 'number') return value === null || value === undefined ? 'n/a' : JSON.stringify(value);
  if (metric === 'ctr' || metric === 'budget_spent_fraction') return `${(value * 100).toFixed(2)}%`;
  if (metric === 'spend' || metric === 'cpc' || metric === 'cpm') return `$${value.toFixed(2)}`;
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

function formatThreshold(value: unknown, metric?: string): string {
  if (Array.isArray(value)) return `[${value.map((v) => formatNumber(v, metric)).join(', ')}]`;
  return formatNumber(value, metric);
}

type Wanted = 'match' | 'no_match' | 'insufficient_data' | 'any';
const INVERTED: Record<Wanted, Wanted> = { match: 'no_match', no_match: 'match', insufficient_data: 'insufficient_data', any: 'any' };

/**
 * The leaves that decided, in words (matched leaves for a match; the unknown ones for
 * insufficient data). Under a `not`, the leaves that decided are those that did not match, and
 * they are shown as `not (…)`.
 */
export function describeExplanation(explanation: unknown, wanted: 'match' | 'insufficient_data' | 'any' = 'any'): string {
  return leaves(explanation, wanted).join(', ');
}

function leaves(node: unknown, wanted: Wanted): string[] {
  if (node === null || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  if (Array.isArray(n.children)) return n.children.flatMap((child) => leaves(child, wanted));
  if (n.child !== undefined) {
    const inner = leaves(n.child, INVERTED[wanted]);
    return inner.length > 0 ? [`not (${inner.join(', ')})`] : [];
  }
  if (wanted !== 'any' && n.result !== wanted) return [];
  const parts: string[] = [];
  const op = OP_SYMBOL[String(n.op)] ?? String(n.op);
  if (n.kind === 'metric') {
    const metric = String(n.metric);
    parts.push(n.observed === null ? `${metric} over ${String(n.window)} unknown (${typeof n.reason === 'string' ? n.reason : 'no data'})` : `${metric} over ${String(n.window)} ${formatNumber(n.observed, metric)} ${op} ${formatThreshold(n.threshold, metric)}`);
  } else if (n.kind === 'compare') {
    const metric = String(n.metric);
    const other = n.compare_to as Record<string, unknown>;
    const why = typeof n.reason === 'string' ? ` (${n.reason})` : '';
    parts.push(`${metric} over ${String(n.window)} ${formatNumber(n.observed, metric)} ${op} ${String(other.multiplier)}× ${String(other.metric)} over ${String(other.window)} (${formatNumber(other.observed, String(other.metric))})${why}`);
  } else if (n.kind === 'field') {
    parts.push(`${String(n.field)} ${JSON.stringify(n.observed)}`);
  }
  return parts;
}

/** `pause` → `paused` (the registry's wording); an unknown action as it is. */
export function pastTense(action: string): string {
  return isActionName(action) ? ACTIONS[action].words.past : action;
}

/** One readable line for a decision. */
export function describeDecision(d: DecisionRecord): string {
  const action = d.action ?? 'none';
  const why = d.explanation ? describeExplanation(d.explanation, d.outcome === 'insufficient_data' ? 'insufficient_data' : 'match') : d.reason;
  const who = `${d.level} "${d.entity_name}"`;
  switch (d.outcome) {
    case 'acted':
      return `${pastTense(action)} ${who} [${d.rule_id}]: ${why}`;
    case 'would_act':
      return `would ${isActionName(action) ? ACTIONS[action].words.present : action} ${who} (dry run) [${d.rule_id}]: ${why}`;
    case 'failed':
      return `FAILED to ${action} ${who} [${d.rule_id}]: ${d.api_result?.error_code ?? 'error'}: ${d.reason}`;
    case 'data_unavailable':
      return `no data for rule ${d.rule_id}: ${d.reason}`;
    case 'awaiting_approval':
      return `proposes to ${isActionName(action) ? ACTIONS[action].words.present : action} ${who} [${d.rule_id}], awaiting approval until ${d.approval?.expires_at ?? '?'} (${d.decision_id}): ${d.reason}`;
    default:
      return `${d.outcome.replace(/_/g, ' ')}: ${action} ${who} [${d.rule_id}]: ${d.reason}`;
  }
}
