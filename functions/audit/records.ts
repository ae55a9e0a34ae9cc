// What the audit trail stores: decision records (DESIGN.md's fields), run summaries, and the
// per-entity state the policy reads. Validated with zod when read back, so a record written by an
// older version or edited by hand is reported, not trusted.
import * as z from 'zod';
import { ACTION_NAMES } from '../actions/registry';
import type { HeldClass } from '../actions/types';

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
  'skipped_not_approved',
  'skipped_not_applicable',
  'failed',
  // Approval mode: a proposal, and what became of it.
  'awaiting_approval',
  'approved',
  'rejected',
  'expired',
] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** An intent whose outcome is not recorded yet (the call may be in flight, or its process died). */
export type RecordOutcome = Outcome | 'pending';

/** Outcomes that appear on the actions index (something was, or would have been, done). */
export const ACTION_OUTCOMES: ReadonlySet<RecordOutcome> = new Set(['acted', 'would_act', 'failed', 'awaiting_approval', 'approved', 'rejected', 'expired']);

export const TRIGGERS = ['schedule', 'local', 'manual', 'undo', 'reconcile', 'simulate', 'approval'] as const;
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

/**
 * A window as read: `start`/`end` are the range whose data decided (whole UTC hours, never after
 * the time of the run); `nominal_*` the window in the rule's time zone, and `note` why the two
 * differ (widened to whole hours, cut at the last complete hour, lifetime from the earliest creation).
 */
export const windowRecordSchema = z.object({
  name: z.string(),
  timezone: z.string(),
  start: z.string(),
  end: z.string(),
  nominal_start: z.string().optional(),
  nominal_end: z.string().optional(),
  note: z.string().optional(),
});
export type WindowRecord = z.infer<typeof windowRecordSchema>;

/**
 * Who holds an entity's value (per conflict class): the party whose intent the current value
 * reflects. A rule holds it after changing it (`change`), after matching it already there
 * (`assertion`), or after ending a named rule's hold it could not act on (`release`); a person
 * (anyone but the engine) after a change the engine did not make; `creation` while it is as it
 * was created; `unknown` when the engine cannot tell.
 */
export const holderSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('rule'),
    rule_id: z.string(),
    priority: z.number().int(),
    /** The value the rule wants it to have (e.g. `paused`). */
    intent: z.union([z.string(), z.number()]).nullable(),
    /** Money classes: whether the rule's change lowered the value (stopping spend) or raised it. */
    direction: z.enum(['up', 'down']).optional(),
    by: z.enum(['change', 'assertion', 'release']),
    decision_id: z.string().nullable(),
    at_ms: z.number(),
  }),
  z.object({ kind: z.literal('person'), at_ms: z.number(), detail: z.string() }),
  z.object({ kind: z.literal('creation') }),
  z.object({ kind: z.literal('unknown'), detail: z.string() }),
]);
export type Holder = z.infer<typeof holderSchema>;

export const apiResultSchema = z.object({
  http_status: z.number().int().nullable(),
  error_code: z.string().nullable(),
  message: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** How an outcome was established without a clean answer (e.g. `state_read` after a retried call, `reconciled`). */
  confirmed_by: z.string().nullable().default(null),
});
export type ApiResult = z.infer<typeof apiResultSchema>;

/** How often an unchanged outcome was seen (ISO times, engine clock); `open` while it still recurs. */
export const repeatTallySchema = z.object({ count: z.number().int().positive(), first_seen: z.string(), last_seen: z.string(), open: z.boolean() });
export type RepeatTally = z.infer<typeof repeatTallySchema>;

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
  action: z.enum(ACTION_NAMES).nullable(),
  mode: z.enum(['live', 'dry_run', 'approval']),
  /** The rule's priority when it decided (ownership compares it). */
  priority: z.number().int().nullable().default(null),
  status_before: z.string().nullable(),
  status_after: z.string().nullable(),
  /** What the action sets, computed once from the value read (a status, or micros): retries and reconciliation aim at it. */
  target: z.union([z.string(), z.number()]).nullable().default(null),
  /** Money actions: the value before and after, in integer micros (status actions: null; see status_*). */
  value_before_micros: z.number().int().nullable().default(null),
  value_after_micros: z.number().int().nullable().default(null),
  api_result: apiResultSchema.nullable(),
  /** Real-time Unix ms until which the intent's owner may still be calling the API. */
  lease_until_ms: z.number().nullable().default(null),
  /**
   * Intents: when the call was sent (engine clock, Unix s), and when it ended without an answer;
   * null when it was never sent. Reconciliation tells a change its own call made from one made
   * since by these (absent on intents written before they were recorded: unknown).
   */
  called_at_s: z.number().nullable().optional(),
  call_ended_at_s: z.number().nullable().optional(),
  /** The entity's updated_at (Unix s) as the decision saw it: reconciliation and undo compare it. */
  entity_updated_at_before: z.number().nullable().default(null),
  /** The entity's updated_at (Unix s) after the action, when the API said. */
  entity_updated_at_after: z.number().nullable().default(null),
  /** Who held the entity's value when it was decided (named in conflicts and overrides). */
  holder: holderSchema.nullable().default(null),
  undoes: z.string().nullable().default(null),
  /** Approval mode: when the proposal expires, and how it was resolved. */
  approval: z
    .object({ expires_at: z.string(), resolved_at: z.string().nullable(), resolved_by: z.string().nullable(), decision_id: z.string().nullable(), note: z.string().nullable() })
    .nullable()
    .default(null),
  /** An action executed on approval: the proposal it carries out. */
  approves: z.string().nullable().default(null),
  message: z.string().nullable().default(null),
  /**
   * A non-action outcome that recurred unchanged after this record (same rule, entity, outcome and
   * reason key: repeats.ts): how often it was seen in all, this record included, and when first and
   * last. Set on the streak's first record when the streak ends; `audit` adds it to an open one.
   */
  repeats: repeatTallySchema.optional(),
  expires_at: z.number().int(),
});
export type DecisionRecord = z.infer<typeof decisionRecordSchema>;


/** A run's repeats of one (rule, outcome): how many of its decisions were counted, not written, and since when they recur. */
export const runRepeatSchema = z.object({ rule_id: z.string(), outcome: z.string(), count: z.number().int().nonnegative(), first_seen: z.string(), last_seen: z.string() });
export type RunRepeat = z.infer<typeof runRepeatSchema>;

/** Where a run's notifications go (engine/notifier.ts). */
export const NOTIFICATION_CHANNELS = ['webhook', 'sns'] as const;
export type NotificationChannelName = (typeof NOTIFICATION_CHANNELS)[number];

/**
 * One message a run tried to send, and how it went: the run's digest, or an alert sent the moment
 * a failure was recorded. `error` never holds the webhook's address or an API key.
 */
export const notificationRecordSchema = z.object({
  channel: z.enum(NOTIFICATION_CHANNELS),
  kind: z.enum(['digest', 'failure_alert']),
  status: z.enum(['sent', 'failed']),
  attempts: z.number().int().nonnegative(),
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type NotificationRecord = z.infer<typeof notificationRecordSchema>;

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
  /** Decisions counted, not written, because they repeat the last recorded one (per rule and outcome; absent before repeats were counted). */
  repeats: z.array(runRepeatSchema).default([]),
  /** The notifications the run sent or tried to send (absent before they were recorded: none known). */
  notifications: z.array(notificationRecordSchema).default([]),
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
    repeats: [],
    notifications: [],
    ...identity,
    ...progress,
  };
}

/** The last automated action of one rule on one entity (cooldowns). */
export const priorActionSchema = z.object({
  rule_id: z.string(),
  action: z.enum(ACTION_NAMES),
  outcome: z.enum(['acted', 'would_act', 'proposed']),
  at_ms: z.number(),
  entity_updated_at_after: z.number().nullable(),
  decision_id: z.string(),
});
export type PriorActionRecord = z.infer<typeof priorActionSchema>;

/** The entity as the engine last observed it, or left it after a change of its own. */
export const observedSchema = z.object({
  at_ms: z.number(),
  status: z.string(),
  review_status: z.string().nullable(),
  updated_at: z.number().nullable(),
  created_at: z.number().nullable(),
  budget_micros: z.number().nullable().optional(),
  max_bid_micros: z.number().nullable().optional(),
});
export type Observed = z.infer<typeof observedSchema>;

/**
 * The engine's memory of one entity: what it last observed or left, who holds each conflict
 * class's value, and each rule's last action on it (for cooldowns). Kept without expiry, so a
 * `forever` cooldown and a hold outlive the audit trail's retention.
 */
export interface EntityMemory {
  entityId: string;
  observed: Observed | null;
  /** Per conflict class (status, budget, bid). */
  holders: Partial<Record<HeldClass, Holder>>;
  /** rule id → last acted action. */
  acted: Map<string, PriorActionRecord>;
  /** rule id → last would_act (dry run). */
  wouldAct: Map<string, PriorActionRecord>;
  /** rule id → last would_act of a run forced to dry run (`run --dry-run`): its own, so it never cools down a live process's rules. */
  forcedWouldAct: Map<string, PriorActionRecord>;
}

/** A change to an entity's memory: a new observation, a new holder, a rule's action remembered. */
export interface MemoryUpdate {
  entityId: string;
  observed?: Observed;
  /** A new holder of one class. */
  holder?: { cls: HeldClass; holder: Holder };
  remember?: PriorActionRecord;
  /** The remembered action is a forced dry run's (kept apart). */
  forced?: boolean;
}
