// What one action is, as data: the contract every entry of the action registry (registry.ts)
// fulfils. The engine, the policy, reconciliation, undo, the records, the CLI and the report read
// an action's behaviour from its definition and nowhere else, so adding an action is one module
// here and its tests.
import type * as z from 'zod';
import type { StatusCallOptions, ThradClient } from '../thrad/client';
import type { EntityStatus, Level } from '../thrad/wire';

/**
 * What actions compete over on one entity: its status, its lifetime budget, its max bid. Two
 * actions of one class on one entity in one run conflict; ownership (who holds the value) is kept
 * per class. `none`: actions that change nothing (notify).
 */
export const CONFLICT_CLASSES = ['status', 'budget', 'bid', 'none'] as const;
export type ConflictClass = (typeof CONFLICT_CLASSES)[number];
/** The classes whose value the engine remembers and attributes (all but `none`). */
export const HELD_CLASSES = ['status', 'budget', 'bid'] as const;
export type HeldClass = (typeof HELD_CLASSES)[number];

/** A value an action reads and sets: a status, or an amount in micros. */
export type ActionValue = string | number | null;

/**
 * Which way an action moves spend. Stopping spend is always allowed (within cooldown and cap);
 * starting spend needs the right to: it never reverses a person's change or a higher-priority
 * rule's (engine/ownership.ts).
 */
export type SpendEffect = 'stops' | 'starts' | 'none';

/** An entity as an action sees it: as listed or as read back, with the fields decisions depend on. */
export interface EntitySnapshot {
  level: Level;
  id: string;
  status: EntityStatus;
  reviewStatus: 'in_review' | 'approved' | 'rejected' | null;
  /** Unix seconds; null when the API does not report it (ads, per the fact sheet, may not). */
  updatedAt: number | null;
  createdAt: number | null;
  /** Campaigns: the lifetime budget (integer micros). */
  budgetMicros?: number | null;
  /** Campaigns: the whole budget object as the API sent it (a budget change sends it back whole). */
  budget?: { lifetime_spend_limit_micros: number; [field: string]: unknown } | null;
  /** Ad groups: `bidding_config.max_bid_micros` (integer micros; null when no max bid is set). */
  maxBidMicros?: number | null;
}

/** What the policy knows beyond the entity when an action plans its target. */
export interface PlanContext {
  /** Lifetime spend of the entity in integer micros, when the action needs it (budget changes). */
  spentMicros?: number | null;
  /** The engine-wide limit of one money change, as a fraction of the current value (0.5 = 50%). */
  maxChangeFraction: number;
}

/** What the policy learns from an action about one entity before deciding. */
export type ActionPlan =
  /** `note`: what shaped the target (a ceiling, a floor, the safety limit), said on the record. */
  | { kind: 'set'; target: ActionValue; note?: string }
  /** `direction`: for money, which way the rule wanted it (a hold it takes keeps that direction). */
  | { kind: 'already'; reason: string; direction?: 'up' | 'down' }
  | { kind: 'not_possible'; outcome: 'skipped_not_approved' | 'skipped_not_applicable'; reason: string };

export interface ExecuteResult {
  /** The entity as the API answered (or as read to confirm a refusal). */
  entity: EntitySnapshot;
  valueBefore: ActionValue;
  valueAfter: ActionValue;
  /** Whether the answer shows a change: a 200 that changed nothing is not an action. */
  changed: boolean;
  attempts: number;
  /** An earlier attempt failed in a way that may have reached the API (so a "no change" may be ours). */
  earlierAttemptMayHaveApplied: boolean;
  /**
   * The change shows, but may be someone else's: the last answer said it was already there, and
   * only an earlier attempt whose answer was lost could have made it.
   */
  ambiguous: boolean;
  /** The last answer: 200, or the refusal that meant "already there" (400 campaign_not_running). */
  answer: { httpStatus: number; code: string | null };
}

export interface ExecuteRequest {
  level: Level;
  entityId: string;
  target: ActionValue;
  /** The entity's updated_at as the decision saw it (to tell a real change from a 200 that changed nothing). */
  updatedAtBefore: number | null;
  valueBefore: ActionValue;
  /** The entity as read just before the call (or as the decision saw it, without a re-check). */
  entity: EntitySnapshot;
  options: StatusCallOptions;
}

/** How undo reverses a change: the action that restores the value before, or why it cannot. */
export type Inverse = { action: string; target: ActionValue } | { refuse: string };

export interface ActionWords {
  /** `PAUSE`, for console lines. */
  verb: string;
  /** `pause`, in sentences ("would pause"). */
  present: string;
  /** `paused`. */
  past: string;
}

/** A validator message an action has about a rule's use of it (path under `then`, or under the rule with `rulePath`). */
export interface ActionAdvice {
  severity: 'error' | 'warning';
  code: string;
  /** Under `then` (e.g. ['by_percent']); `rulePath` for keys elsewhere in the rule (e.g. ['guards', 'cooldown']). */
  path: readonly string[];
  rulePath?: true;
  message: string;
}

/** What the validator tells an action about the rule using it (raw, already schema-checked values). */
export interface AdviceContext {
  mode: unknown;
  cooldown: unknown;
}

export interface ActionDefinition<Name extends string = string, Params extends { action: Name } = { action: Name }> {
  name: Name;
  /** The rule's `then` object for this action (a strict zod object with `action: <name>`). */
  schema: z.ZodType<Params>;
  /** The smallest valid `then` of this action (docs, the validator's suggestions, the meta-test). */
  example: Params;
  description: string;
  levels: readonly Level[];
  /** Said when a rule uses the action at a level it does not apply to. */
  levelHint?: string;
  conflictClass: ConflictClass;
  /**
   * Who wins between actions of one class at equal priority: higher first. Money changes rank by
   * direction (a decrease wins over an increase), so this sees the entity and the target.
   */
  precedence(entity: EntitySnapshot, target: ActionValue): number;
  /** Which way this change moves spend (a budget increase starts spend, a decrease stops it). */
  spend(entity: EntitySnapshot, target: ActionValue): SpendEffect;
  /** Data the plan needs beyond the rule's own (a budget change never goes below lifetime spend). */
  needsLifetimeSpend?: boolean;
  /** False for actions that change nothing in Thrad (notify): no intent, no call. */
  calls: boolean;
  /** The current value of the conflict class on an entity. */
  read(entity: EntitySnapshot): ActionValue;
  /** What the action would set on this entity, or why it does not apply. */
  plan(entity: EntitySnapshot, params: Params, context: PlanContext): ActionPlan;
  execute(client: ThradClient, request: ExecuteRequest): Promise<ExecuteResult>;
  /**
   * Whether the entity is read again just before the call (at this level): to re-check that it is
   * still as the decision saw it, and because a 200 that changed nothing cannot be told from a
   * change made just before ours otherwise.
   */
  recheck(level: Level): boolean;
  /** Reconciliation: whether the entity as read now carries the target. */
  confirms(entity: EntitySnapshot, target: ActionValue): boolean;
  /** How undo reverses a recorded change, or why it cannot (`value_before`: the class's value before it). */
  inverse(record: { value_before: ActionValue; level: Level }): Inverse;
  /** The record's value in micros (money actions), or null (status: the record's status fields say it). */
  micros(value: ActionValue): number | null;
  words: ActionWords;
  /** Mistakes the schema cannot see (a change of 500%, an increase without a ceiling): the validator says them. */
  advice?(params: Params, rule: AdviceContext): ActionAdvice[];
}
