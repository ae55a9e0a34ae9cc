// The message the planner sends to the tick queue (SQS FIFO) and the worker runs: one org, one
// tick, every rule of that org due at it. MessageGroupId = org_id gives one run per org at a time;
// MessageDeduplicationId = org_id#tick makes a redelivered planner invocation send no second run.
import * as z from 'zod';
import type { DueTick } from '../orgs/plan';
import { ORG_ID } from '../orgs/schema';
import { RULE_ID } from '../rules/schema';
import { describeIssues } from '../shared/issues';
import { InvalidTickMessageError } from './errors';

export const tickMessageSchema = z.strictObject({
  org_id: z.string().regex(ORG_ID),
  /**
   * The org's ad account (its records' prefix). Absent only for the deployment's default org when
   * its account was not given at deploy: the worker then reads it with the key.
   */
  ad_account_id: z.string().min(1).max(128).optional(),
  /** The tick (ISO 8601, whole minute): the occurrence the cycle runs and is claimed for. */
  tick: z.iso.datetime(),
  rule_ids: z.array(z.string().regex(RULE_ID)).min(1),
  /** The shortest period of the due rules: a tick run later than this is stale. */
  period_seconds: z.number().int().positive(),
});
export type TickMessage = z.infer<typeof tickMessageSchema>;

export function tickMessageFor(org: { org_id: string; ad_account_id?: string }, due: DueTick): TickMessage {
  return {
    org_id: org.org_id,
    ...(org.ad_account_id !== undefined ? { ad_account_id: org.ad_account_id } : {}),
    tick: new Date(due.tickMs).toISOString(),
    rule_ids: due.ruleIds,
    period_seconds: due.periodSeconds,
  };
}

/** One run per (org, tick): SQS drops a second message with this id within its 5-minute window. */
export const deduplicationIdOf = (orgId: string, tickMs: number): string => `${orgId}#${tickMs}`;

/** A message body → the tick, or InvalidTickMessageError naming what is wrong. */
export function parseTickMessage(messageId: string, body: string, groupId: string | undefined): TickMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    throw new InvalidTickMessageError(messageId, [`(body): not JSON (${(error as Error).message})`]);
  }
  const parsed = tickMessageSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidTickMessageError(messageId, describeIssues(parsed.error.issues, { root: '(body)' }));
  if (groupId !== undefined && groupId !== parsed.data.org_id) throw new InvalidTickMessageError(messageId, [`MessageGroupId: "${groupId}" is not the message's org_id "${parsed.data.org_id}"`]);
  return parsed.data;
}
