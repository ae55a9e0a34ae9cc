// The event the stack's EventBridge Scheduler schedules send to the evaluate function: the rule
// ids of one (expression, time zone) group, the schedule's period, and the scheduled time filled
// in by the `<aws.scheduler.scheduled-time>` context attribute.
import * as z from 'zod';
import { RULE_ID } from '../rules/schema';
import { describeIssues } from '../shared/issues';
import { InvalidSchedulerEventError } from './errors';

export const schedulerEventSchema = z.strictObject({
  schedule_id: z.string().min(1).max(128),
  rule_ids: z.array(z.string().regex(RULE_ID)).min(1),
  /** `<aws.scheduler.scheduled-time>`, e.g. 2026-11-24T22:00:00Z. */
  scheduled_time: z.iso.datetime({ offset: true }),
  /** The schedule's period: older deliveries are stale. */
  period_seconds: z.number().int().positive(),
  /** `<aws.scheduler.execution-id>` and `<aws.scheduler.attempt-number>`, for the logs. */
  execution_id: z.string().optional(),
  attempt: z.union([z.string(), z.number()]).optional(),
});
export type SchedulerEvent = z.infer<typeof schedulerEventSchema>;

/** The JSON template a schedule's target sends (context attributes substituted by Scheduler). */
export function schedulerInputTemplate(scheduleId: string, ruleIds: readonly string[], periodSeconds: number): string {
  // Scheduler substitutes the <aws.scheduler.*> placeholders inside string values.
  return JSON.stringify({
    schedule_id: scheduleId,
    rule_ids: ruleIds,
    scheduled_time: '<aws.scheduler.scheduled-time>',
    period_seconds: periodSeconds,
    execution_id: '<aws.scheduler.execution-id>',
    attempt: '<aws.scheduler.attempt-number>',
  });
}

export function parseSchedulerEvent(event: unknown): SchedulerEvent {
  const result = schedulerEventSchema.safeParse(event);
  if (!result.success) {
    throw new InvalidSchedulerEventError(describeIssues(result.error.issues, { root: '(event)' }));
  }
  return result.data;
}
