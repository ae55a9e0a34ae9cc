// The CompletedRuns metric behind the RuleDidNotRun alarms counts only the schedule groups whose
// rules a completed run served: a run whose budget guard could not read its data (every read
// data_unavailable) completes, but did not look at spend, so it must not keep the alarm quiet.
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunSummary } from '../../functions/audit/records';
import { publishCompletedRuns } from '../../functions/handlers/runtime';
import type { ScheduleGroup } from '../../functions/rules/groups';

const groups = [
  { id: 'g-budget', ruleIds: ['budget-guard'] },
  { id: 'g-cpc', ruleIds: ['cpc-guard', 'ctr-floor'] },
] as unknown as ScheduleGroup[];

function summary(status: RunSummary['status'], perRule: Record<string, { data_unavailable?: number }>): Pick<RunSummary, 'status' | 'rule_ids' | 'per_rule'> {
  return { status, rule_ids: Object.keys(perRule), per_rule: perRule };
}

function published(run: Pick<RunSummary, 'status' | 'rule_ids' | 'per_rule'>): unknown[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
  publishCompletedRuns(metrics, run as RunSummary, groups);
  vi.restoreAllMocks();
  return lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('CompletedRuns')).map((l) => (JSON.parse(l) as { schedule: string }).schedule);
}

describe('publishCompletedRuns', () => {
  afterEach(() => vi.restoreAllMocks());

  it('one datum per group a completed run served', () => {
    expect(published(summary('completed', { 'budget-guard': {}, 'cpc-guard': {} }))).toEqual(['g-budget', 'g-cpc']);
  });

  it('a group whose rules all ended data_unavailable is not counted; a group with one rule that read its data is', () => {
    expect(published(summary('completed', { 'budget-guard': { data_unavailable: 1 }, 'cpc-guard': { data_unavailable: 1 }, 'ctr-floor': {} }))).toEqual(['g-cpc']);
    expect(published(summary('completed', { 'budget-guard': { data_unavailable: 3 } }))).toEqual([]);
  });

  it('a failed run counts for nothing', () => {
    expect(published(summary('failed', { 'budget-guard': {} }))).toEqual([]);
  });
});
