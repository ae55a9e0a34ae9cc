// What the audit trail stores: decision records (DESIGN.md's fields), run summaries, and the
// per-entity state the policy reads. Validated with zod when read back, so a record written by an
// older version or edited by hand is reported, not trusted.
import * as z from 'zod';

export const OUTCOMES = [
  'acted',
  'would_act',
  'no_match',
  'insufficient_data',
  'data_unavailable',
  'already_in_state',
  'skipped_cooldown',
  'skipped_cap',
  'skipped_conflict',
  'skipped_manual_override',
  'failed',
] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** An intent whose outcome is not recorded yet (the call may be in flight, or its process died). */
export type RecordOutcome = Outcome | 'pending';

/** Outcomes that appear on the actions index (something was, or would have been, done). */
export const ACTION_OUTCOMES: ReadonlySet<RecordOutcome> = new Set(['acted', 'would_act', 'failed']);

export const TRIGGERS = ['schedule', 'local', 'manual', 'undo', 'reconcile'] as const;
export type Trigger = (typeof TRIGGERS)[number];

type ExplanationShape =
  | { kind: 'all' | 'any'; result: string; children: ExplanationShape[] }
  | { kind: 'not'; result: string; child: ExplanationShape }
  | { kind: 'metric' | 'compare' | 'field'; result: string; [key: string]: unknown };

export const explanationSchema: z.ZodType<ExplanationShape> = z.lazy(() =>
  z.union([
    z.object({ kind: z.enum(['all', 'any']), result: z.string(), children: z.array(explanationSchema) }),
    z.object({ kind: z.literal('not'), result: z.string(), child: explanationSchema }),
    z.looseObject({ kind: z.enum(['metric', 'compare', 'field']), result: z.string() }),
  ]),
);

export const windowRecordSchema = z.object({ name: z.string(), timezone: z.string(), start: z.string(), end: z.string() });

export const apiResultSchema = z.object({
  http_status: z.number().int().nullable(),
  error_code: z.string().nullable(),
  message: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** How an outcome was established without a clean answer (e.g. `state_read` after a retried call, `reconciled`). */
  confirmed_by: z.string().nullable().default(null),
});
export type ApiResult = z.infer<typeof apiResultSchema>;

export const decisionRecordSchema = z.object({
  decision_id: z.string(),
  run_id: z.string(),
  account_id: z.string(),
  rule_id: z.string(),
  rule_version: z.string(),
  level: z.enum(['campaign', 'ad_group', 'ad']),
  entity_id: z.string(),
  entity_name: z.string(),
  campaign_id: z.string().nullable(),
  /** The scheduled occurrence this decision belongs to (ISO 8601). */
  scheduled_time: z.string(),
  evaluated_at: z.string(),
  trigger: z.enum(TRIGGERS),
  windows: z.array(windowRecordSchema),
  observed: z.record(z.string(), z.unknown()),
  explanation: explanationSchema.nullable(),
  outcome: z.enum([...OUTCOMES, 'pending']),
  reason: z.string(),
  action: z.enum(['pause', 'activate', 'archive', 'notify']).nullable(),
  mode: z.enum(['live', 'dry_run']),
  status_before: z.string().nullable(),
  status_after: z.string().nullable(),
  api_result: apiResultSchema.nullable(),
  /** Real-time Unix ms until which the intent's owner may still be calling the API. */
  lease_until_ms: z.number().nullable().default(null),
  /** The entity's updated_at (Unix s) after the action, when the API said. */
  entity_updated_at_after: z.number().nullable().default(null),
  undoes: z.string().nullable().default(null),
  message: z.string().nullable().default(null),
  expires_at: z.number().int(),
});
export type DecisionRecord = z.infer<typeof decisionRecordSchema>;

export const RUN_STATUSES = ['completed', 'skipped_stale', 'skipped_duplicate', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const runSummarySchema = z.object({
  run_id: z.string(),
  account_id: z.string(),
  schedule_id: z.string().nullable(),
  scheduled_time: z.string(),
  started_at: z.string(),
  finished_at: z.string(),
  duration_ms: z.number(),
  status: z.enum(RUN_STATUSES),
  trigger: z.enum(TRIGGERS),
  rule_ids: z.array(z.string()),
  mode_override: z.enum(['live', 'dry_run']).nullable(),
  counts: z.record(z.string(), z.number()),
  per_rule: z.record(z.string(), z.record(z.string(), z.number())),
  api_requests: z.number().int(),
  api_requests_remaining: z.number().int().nullable(),
  entities_read: z.number().int(),
  errors: z.array(z.object({ rule_id: z.string().nullable(), code: z.string(), message: z.string() })),
  expires_at: z.number().int(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

/** Who a run was and how it ended; everything else starts at nothing done. */
export type RunIdentity = Pick<RunSummary, 'run_id' | 'account_id' | 'schedule_id' | 'scheduled_time' | 'started_at' | 'status' | 'trigger' | 'rule_ids' | 'errors' | 'expires_at'>;

/** The one place a run summary is assembled (the engine's runs, and the handler's skipped deliveries). */
export function runSummary(identity: RunIdentity, progress: Partial<Omit<RunSummary, keyof RunIdentity>> = {}): RunSummary {
  return {
    finished_at: identity.started_at,
    duration_ms: 0,
    mode_override: null,
    counts: {},
    per_rule: {},
    api_requests: 0,
    api_requests_remaining: null,
    entities_read: 0,
    ...identity,
    ...progress,
  };
}

/** The last automated action of one rule on one entity (the policy's memory). */
export const priorActionSchema = z.object({
  rule_id: z.string(),
  action: z.enum(['pause', 'activate', 'archive', 'notify']),
  outcome: z.enum(['acted', 'would_act']),
  at_ms: z.number(),
  entity_updated_at_after: z.number().nullable(),
  decision_id: z.string(),
});
export type PriorActionRecord = z.infer<typeof priorActionSchema>;

export interface EntityState {
  entityId: string;
  /** rule id → last acted action. */
  acted: Map<string, PriorActionRecord>;
  /** rule id → last would_act (dry run). */
  wouldAct: Map<string, PriorActionRecord>;
  /** The last status change any rule (or an undo) made. */
  lastStatusChange: PriorActionRecord | null;
}
