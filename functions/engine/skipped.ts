// A scheduled occurrence that was not run because it came too late (a stale delivery or tick):
// recorded as a run summary `skipped_stale`, so the audit says why nothing happened then. The one
// place such a summary is built: the Lambda handlers and the local runner's org pool use it.
import { runSummary, type RunSummary, type Trigger } from '../audit/records';
import type { AuditStore } from '../audit/store';

export interface SkippedOccurrence {
  accountId: string;
  scheduleId: string;
  /** The occurrence (Unix ms). */
  scheduledMs: number;
  ruleIds: readonly string[];
  trigger: Trigger;
  /** When it was given up on (Unix ms, the engine clock). */
  nowMs: number;
  /** Why, in a sentence (e.g. "Delivered 400 s after its scheduled time, …; skipped"). */
  message: string;
}

export async function recordStaleOccurrence(store: AuditStore, skipped: SkippedOccurrence): Promise<RunSummary> {
  const summary = runSummary({
    run_id: `run_stale_${skipped.scheduledMs}`,
    account_id: skipped.accountId,
    schedule_id: skipped.scheduleId,
    scheduled_time: new Date(skipped.scheduledMs).toISOString(),
    started_at: new Date(skipped.nowMs).toISOString(),
    status: 'skipped_stale',
    trigger: skipped.trigger,
    rule_ids: [...skipped.ruleIds],
    errors: [{ rule_id: null, code: 'stale_event', message: skipped.message }],
    expires_at: store.expiresAt(),
  });
  await store.putRunSummary(summary);
  return summary;
}
