// The act phase: every decision that acts through the API becomes an intent, run by the intent
// executor a few at a time, within the deadline. Each settles exactly once: the outcome is
// recorded, or the intent is released for reconciliation when the call may have landed.
import type { DecisionRecord, Holder } from '../audit/records';
import { forEachConcurrent } from '../shared/concurrency';
import type { RunContext } from './context';
import type { Decided } from './decide';
import type { IntentExecutor, Settlement } from './intents';

export async function actPhase(ctx: RunContext, executor: IntentExecutor, decided: readonly Decided[], concurrency: number, onSettled: (settlement: Settlement) => void): Promise<void> {
  const acting = decided.filter((d) => d.record?.outcome === 'pending');
  await forEachConcurrent(acting, concurrency, async (d) => {
    const record = d.record;
    if (!record) return;
    const rule = d.candidate.rule.rule;
    const holderOnChange: Holder = { kind: 'rule', rule_id: rule.id, priority: rule.priority, intent: d.policy.target, ...directionOf(record), by: 'change', decision_id: record.decision_id, at_ms: ctx.nowMs };
    onSettled(await executor.run({ record, seen: d.candidate.entity, holderOnChange, remember: true }, ctx.deadlineMs));
  });
}

/** Money changes: which way the target moves the value (a hold downwards stops spend). */
export function directionOf(record: Pick<DecisionRecord, 'target' | 'value_before_micros'>): { direction?: 'up' | 'down' } {
  if (typeof record.target !== 'number' || record.value_before_micros === null) return {};
  return { direction: record.target < record.value_before_micros ? 'down' : 'up' };
}
