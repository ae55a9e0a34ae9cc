// Who holds an entity's status, from the entity as read now and the engine's memory of it, and
// whether an action may start spend against that holder. Pure functions; the policy and the
// act phase call them with what they read.
//
// The model (README "How it works"): stopping spend is always allowed; starting spend needs the
// right to. A change the engine did not make (the status differs from what the engine last
// observed or left, or updated_at moved without a change of the engine's) belongs to a person.
// An activation never reverses a person's change, nor a pause held by a rule of higher or equal
// priority unless it names that rule in only_if_paused_by; when the engine cannot tell who made
// the last change, it does not start spend.
import { CLASS_INFO, showValue } from '../actions/classes';
import type { EntitySnapshot, HeldClass } from '../actions/types';
import type { EntityMemory, Holder, Observed } from '../audit/records';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoSeconds = (s: number): string => iso(s * 1000);

/** The observation the engine keeps of an entity as read at `atMs`. */
export function observation(entity: EntitySnapshot, atMs: number): Observed {
  return { at_ms: atMs, status: entity.status, review_status: entity.reviewStatus, updated_at: entity.updatedAt, created_at: entity.createdAt, budget_micros: entity.budgetMicros ?? null, max_bid_micros: entity.maxBidMicros ?? null };
}

/** The status holder of an entity now, given the engine's memory of it (if any). */
export function statusHolder(entity: EntitySnapshot, memory: EntityMemory | undefined): Holder {
  return holderOf('status', entity, memory);
}

/** Whether anything the engine sees changed besides `cls`'s value (another class, the review). */
function otherChange(cls: HeldClass, entity: EntitySnapshot, observed: Observed): boolean {
  return (Object.keys(CLASS_INFO) as HeldClass[]).some((c) => c !== cls && CLASS_INFO[c].observed(observed) !== undefined && CLASS_INFO[c].observed(observed) !== CLASS_INFO[c].read(entity));
}

/**
 * Who holds one class's value (status, lifetime budget, max bid) of an entity now, given the
 * engine's memory of it. A value that moved without the engine, or an updated_at that moved with
 * nothing the engine can account for, is a person's change.
 */
export function holderOf(cls: HeldClass, entity: EntitySnapshot, memory: EntityMemory | undefined): Holder {
  const info = CLASS_INFO[cls];
  const observed = memory?.observed ?? null;
  if (!observed) {
    if (entity.updatedAt === null) return { kind: 'unknown', detail: `the API reports no updated_at for this ${entity.level.replace('_', ' ')} and the autopilot has no history of it` };
    if (entity.createdAt !== null && entity.updatedAt === entity.createdAt) return { kind: 'creation' };
    return { kind: 'unknown', detail: `it was changed (updated_at ${isoSeconds(entity.updatedAt)}) after its creation${entity.createdAt === null ? '' : ` at ${isoSeconds(entity.createdAt)}`}, before the autopilot first saw it` };
  }
  // A memory from before this class was remembered holds no value for it: it is as observed then.
  const seen = info.observed(observed);
  const held: Holder = memory?.holders[cls] ?? (seen === undefined ? { kind: 'unknown', detail: `the autopilot recorded no ${info.noun} for it` } : { kind: 'creation' });
  const now = info.read(entity);
  if (seen !== undefined && now !== seen) {
    return { kind: 'person', at_ms: entity.updatedAt === null ? observed.at_ms : entity.updatedAt * 1000, detail: `its ${info.noun} went from ${showValue(cls, seen)} to ${showValue(cls, now)} without the autopilot${entity.updatedAt === null ? '' : ` (updated_at ${isoSeconds(entity.updatedAt)})`}` };
  }
  if (entity.updatedAt === null || observed.updated_at === null) {
    // Without timestamps a change and its reversal between two looks cannot be ruled out.
    return held.kind === 'person' ? held : { kind: 'unknown', detail: `the API reports no updated_at for this ${entity.level.replace('_', ' ')}, so a change since the autopilot last saw it (${iso(observed.at_ms)}) cannot be ruled out` };
  }
  if (entity.updatedAt === observed.updated_at) return held;
  // updated_at moved with this value unchanged. A review verdict explains it (Thrad staff, not a
  // person), and so does another value's change the engine sees: that change is attributed on its
  // own class, and a toggle of this value cannot be ruled out only when nothing explains the move.
  if (entity.reviewStatus !== observed.review_status && entity.reviewStatus !== null) return held;
  if (cls !== 'status' && otherChange(cls, entity, observed)) return held;
  return { kind: 'person', at_ms: entity.updatedAt * 1000, detail: `it was changed by someone else at ${isoSeconds(entity.updatedAt)} (updated_at moved since the autopilot last saw it at ${iso(observed.at_ms)})` };
}

/** A holder in words, for reasons and lines: `budget-guard (priority 20) since 2026-…`. */
export function describeHolder(holder: Holder): string {
  switch (holder.kind) {
    case 'rule':
      return `${holder.rule_id} (priority ${holder.priority}${holder.by === 'assertion' ? ', which matched it already paused' : ''}) since ${iso(holder.at_ms)}`;
    case 'person':
      return `someone else (a person or another tool): ${holder.detail}`;
    case 'creation':
      return 'nobody: it is as it was created';
    case 'unknown':
      return `unknown: ${holder.detail}`;
  }
}

export interface StartRight {
  ruleId: string;
  priority: number;
  onlyIfPausedBy: readonly string[] | undefined;
}

export type StartVerdict = { allowed: true; reason: string } | { allowed: false; outcome: 'skipped_manual_override' | 'skipped_conflict'; reason: string };

/** Whether a rule's hold stopped spend: a pause or archive, or a money change downwards. */
const holdsStopped = (holder: Extract<Holder, { kind: 'rule' }>): boolean => holder.intent === 'paused' || holder.intent === 'archived' || holder.direction === 'down';

/** How a hold that stopped spend reads in a reason: `paused`, `with its lifetime budget lowered`. */
function stoppedAs(cls: HeldClass): string {
  return cls === 'status' ? 'paused' : `with its ${CLASS_INFO[cls].noun} lowered`;
}

/**
 * Whether a rule may start spend (activate; raise a budget or bid) against whoever holds that
 * value: never against a person's change or an unknown one, nor against a rule of higher or equal
 * priority that stopped it, unless the rule names it in only_if_paused_by.
 */
export function mayStartSpend(holder: Holder, rule: StartRight, cls: HeldClass = 'status'): StartVerdict {
  const stopped = stoppedAs(cls);
  if (holder.kind === 'person') return { allowed: false, outcome: 'skipped_manual_override', reason: `${holder.detail}; starting spend never reverses a person's change` };
  if (holder.kind === 'unknown') return { allowed: false, outcome: 'skipped_manual_override', reason: `the autopilot cannot tell who ${cls === 'status' ? 'paused it' : `set its ${CLASS_INFO[cls].noun}`} (${holder.detail}); it does not start spend it cannot account for` };
  const named = rule.onlyIfPausedBy;
  if (named !== undefined) {
    if (holder.kind === 'rule' && named.includes(holder.rule_id) && holdsStopped(holder)) return { allowed: true, reason: `held ${stopped} by ${holder.rule_id}, which this rule resumes` };
    if (holder.kind === 'creation') return { allowed: false, outcome: 'skipped_manual_override', reason: `not ${stopped} by ${named.join(' or ')}: it is as it was created` };
    if (holder.kind === 'rule' && !holdsStopped(holder)) return { allowed: false, outcome: 'skipped_manual_override', reason: `not held ${stopped} by ${named.join(' or ')} (last held by ${describeHolder(holder)})` };
    return { allowed: false, outcome: 'skipped_conflict', reason: `held ${stopped} by ${describeHolder(holder)}, not by ${named.join(' or ')}, which this rule resumes` };
  }
  if (holder.kind === 'creation') return { allowed: true, reason: 'unchanged since its creation' };
  if (!holdsStopped(holder)) return { allowed: true, reason: `last held by ${holder.rule_id}, which wants it ${String(holder.intent)}` };
  if (holder.priority >= rule.priority) {
    return { allowed: false, outcome: 'skipped_conflict', reason: `held ${stopped} by ${describeHolder(holder)}: priority ${holder.priority} ≥ ${rule.priority}, and this rule does not name it in only_if_paused_by` };
  }
  return { allowed: true, reason: `held ${stopped} by ${holder.rule_id} at lower priority (${holder.priority} < ${rule.priority})` };
}

/**
 * Whether a live rule matching an entity already in its target value takes hold of it: over
 * nobody (creation), itself, or a rule whose hold did not stop spend (one that wants it active, or
 * raised it). Never over a person or an unknown change, and never over another rule's stop,
 * whatever the priorities: taking over a pause would let a rule that resumes this one's pauses
 * reverse a pause it never made (the hold would launder the other rule's pause).
 */
export function mayAssert(holder: Holder, rule: StartRight): boolean {
  if (holder.kind === 'creation') return true;
  if (holder.kind !== 'rule') return false;
  return holder.rule_id === rule.ruleId || !holdsStopped(holder);
}
