// The event the stack's one EventBridge Scheduler schedule (every minute) sends to the planner: the
// tick, filled in by the `<aws.scheduler.scheduled-time>` context attribute. Which rules are due
// for which org is the planner's to work out (functions/orgs/plan.ts), not the schedule's.
import * as z from 'zod';
import { describeIssues } from '../shared/issues';
import { InvalidSchedulerEventError } from './errors';

export const schedulerEventSchema = z.strictObject({
  /** `<aws.scheduler.scheduled-time>`, e.g. 2026-11-24T03:00:00Z. */
  scheduled_time: z.iso.datetime({ offset: true }),
  /** `<aws.scheduler.execution-id>` and `<aws.scheduler.attempt-number>`, for the logs. */
  execution_id: z.string().optional(),
  attempt: z.union([z.string(), z.number()]).optional(),
});
export type SchedulerEvent = z.infer<typeof schedulerEventSchema>;

/** The JSON the schedule's target sends (Scheduler substitutes the placeholders inside string values). */
export function schedulerInputTemplate(): string {
  return JSON.stringify({ scheduled_time: '<aws.scheduler.scheduled-time>', execution_id: '<aws.scheduler.execution-id>', attempt: '<aws.scheduler.attempt-number>' });
}

export function parseSchedulerEvent(event: unknown): SchedulerEvent {
  const result = schedulerEventSchema.safeParse(event);
  if (!result.success) throw new InvalidSchedulerEventError(describeIssues(result.error.issues, { root: '(event)' }));
  return result.data;
}

/** The tick an event stands for: its scheduled time on the whole minute (every rule expression fires on whole minutes). */
export function tickOf(event: SchedulerEvent): number {
  return Math.floor(Date.parse(event.scheduled_time) / 60_000) * 60_000;
}
