// Which rules a run served, for the "rule did not run" checks (the local runner's warning and the
// CompletedRuns metric behind the RuleDidNotRun alarm on AWS): one definition for both.
import type { RunSummary } from '../audit/records';

/**
 * The rules a run served: those of a completed run that read their data. A rule whose reads fail
 * every cycle (`data_unavailable`: insights down, the wire answering another question) decides
 * nothing although its runs complete, and no digest says so; counting it as run would keep a budget
 * guard that has not looked at spend for days out of the warning.
 */
export function rulesServed(summary: Pick<RunSummary, 'status' | 'rule_ids' | 'per_rule'>): string[] {
  if (summary.status !== 'completed') return [];
  return summary.rule_ids.filter((id) => (summary.per_rule[id]?.data_unavailable ?? 0) === 0);
}
