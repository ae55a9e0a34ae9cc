// The sandbox's answers where the fact sheet says "unknown" (§9), in one place. Each is a
// documented default (README § "Where the API docs are silent") and can be overridden by a
// fixture's `behaviour` object, so a test can pin the other plausible answer.
import * as z from 'zod';
import { WIRE_PROFILE_NAMES } from '../functions/thrad/wire';

export const behaviourSchema = z.strictObject({
  /**
   * The insights wire shape served (functions/thrad/wire.ts), strictly: the other profile's
   * shapes get `400 unknown_parameter`, `invalid_value` (limit) or `invalid_filter_operator`.
   */
  wire_profile: z.enum(WIRE_PROFILE_NAMES).default('reference'),
  /**
   * Model an API that ignores the time-range parameter: every insights read is answered for the
   * default 30-day window, whatever range was asked (the client's answer guard must catch it).
   */
  ignore_time_ranges: z.boolean().default(false),
  /**
   * A time-range bound after the sandbox's current time: `400 invalid_value` (default, as the
   * reference says: bounds must not be in the future) or accepted.
   */
  time_ranges_in_future: z.enum(['accept', 'reject']).default('reject'),
  /** `/activate` on an active campaign: 200 no-op (`ok`) or `400 campaign_already_active`. */
  campaign_activate_when_active: z.enum(['ok', 'error']).default('ok'),
  /** `/archive` on an archived campaign: 200 no-op or `400 campaign_already_archived`. */
  campaign_archive_when_archived: z.enum(['ok', 'error']).default('ok'),
  /** Code for `/activate` or `/pause` on an archived campaign (archiving is final). */
  campaign_archived_code: z.string().default('campaign_archived'),
  /** Code for `/activate` on a rejected campaign (closest documented: not approved). */
  campaign_rejected_activate_code: z.string().default('campaign_not_approved'),
  /** Ad group / ad action to the state it is already in: 200 no-op or `400 already_<status>`. */
  child_same_state: z.enum(['ok', 'error']).default('ok'),
  /** Whether a campaign update sends it back to review. */
  update_resets_review: z.boolean().default(false),
  /** Whether a campaign whose budget is spent is switched to `paused` (otherwise it stays active and stops delivering). */
  pause_on_budget_exhausted: z.boolean().default(false),
  /** Default start_time on create = now + this (docs: about two days). */
  start_time_default_lead_seconds: z.number().int().nonnegative().default(172_800),
  /** A start_time earlier than the launch window on create: accepted as given, or `400 invalid_value`. */
  start_time_before_window: z.enum(['accept', 'reject']).default('accept'),
  /** Accept plain strings in `targeting.locations.include` (the quickstart's example does). */
  accept_string_locations: z.boolean().default(true),
  /** Unknown body fields: `400 unknown_parameter` (default) or silently ignored. */
  unknown_fields: z.enum(['reject', 'ignore']).default('reject'),
  /** What ctr/cpc/cpm are when their divisor is zero: JSON null (default) or 0. */
  zero_divisor: z.enum(['null', 'zero']).default('null'),
  /** Leave out insights rows whose impressions, clicks and spend are all zero. */
  omit_empty_rows: z.boolean().default(true),
  /** unix_range windows must start and end on whole UTC hours. */
  require_hour_aligned_ranges: z.boolean().default(true),
  requests_per_hour: z.number().int().positive().default(1_000),
  campaign_creates_per_hour: z.number().int().positive().default(60),
  /** Seconds the old key keeps working after a rotation. */
  key_rotation_grace_seconds: z.number().int().nonnegative().default(1_800),
  deposit_micros: z.number().int().nonnegative().default(10_000_000),
  /** Whether ads carry created_at/updated_at (the fact sheet cannot tell, §9.15). */
  ad_timestamps: z.boolean().default(true),
  /** Insights page size when `limit` is not sent (default: the wire profile's, 20 in reference, 1000 in legacy). */
  insights_default_limit: z.number().int().positive().optional(),
  /** The largest insights `limit` accepted (default: the wire profile's, 2000 in reference, 10000 in legacy). */
  insights_max_limit: z.number().int().positive().optional(),
});

export type Behaviour = z.infer<typeof behaviourSchema>;
export type BehaviourInput = z.input<typeof behaviourSchema>;

export const DEFAULT_BEHAVIOUR: Behaviour = behaviourSchema.parse({});
