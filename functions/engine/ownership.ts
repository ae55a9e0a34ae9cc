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
import type { EntitySnapshot } from '../actions/types';
import type { EntityMemory, Holder, Observed } from '../audit/records';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoSeconds = (s: number): string => iso(s * 1000);

/** The observation the engine keeps of an entity as read at `atMs`. */
export function observation(entity: EntitySnapshot, atMs: number): Observed {
  return { at_ms: atMs, status: entity.status, review_status: entity.reviewStatus, updated_at: entity.updatedAt, created_at: entity.createdAt };
}

/** The status holder of an entity now, given the engine's memory of it (if any). */
export function statusHolder(entity: EntitySnapshot, memory: EntityMemory | undefined): Holder {
  const observed = memory?.observed ?? null;
  if (!observed) {
    if (entity.updatedAt === null) return { kind: 'unknown', detail: `the API reports no updated_at for this ${entity.level.replace('_', ' ')} and the autopilot has no history of it` };
    if (entity.createdAt !== null && entity.updatedAt === entity.createdAt) return { kind: 'creation' };
    return { kind: 'unknown', detail: `it was changed (updated_at ${isoSeconds(entity.updatedAt)}) after its creation${entity.createdAt === null ? '' : ` at ${isoSeconds(entity.createdAt)}`}, before the autopilot first saw it` };
  }
  const held: Holder = memory?.holders.status ?? { kind: 'unknown', detail: 'the autopilot recorded no holder for it' };
  if (entity.status !== observed.status) {
    return { kind: 'person', at_ms: entity.updatedAt === null ? observed.at_ms : entity.updatedAt * 1000, detail: `its status went from ${observed.status} to ${entity.status} without the autopilot${entity.updatedAt === null ? '' : ` (updated_at ${isoSeconds(entity.updatedAt)})`}` };
  }
  if (entity.updatedAt === null || observed.updated_at === null) {
    // Without timestamps a change and its reversal between two looks cannot be ruled out.
    return held.kind === 'person' ? held : { kind: 'unknown', detail: `the API reports no updated_at for this ${entity.level.replace('_', ' ')}, so a change since the autopilot last saw it (${iso(observed.at_ms)}) cannot be ruled out` };
  }
  if (entity.updatedAt === observed.updated_at) return held;
  // updated_at moved with the status unchanged. A review verdict explains it (Thrad staff, not a
  // person's status change) when nothing else the engine can see changed.
  if (entity.reviewStatus !== observed.review_status && entity.reviewStatus !== null) return held;
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

const holdsStopped = (holder: Extract<Holder, { kind: 'rule' }>): boolean => holder.intent === 'paused' || holder.intent === 'archived';

/** Whether a rule may start spend (activate) on an entity whose status `holder` holds. */
export function mayStartSpend(holder: Holder, rule: StartRight): StartVerdict {
  if (holder.kind === 'person') return { allowed: false, outcome: 'skipped_manual_override', reason: `${holder.detail}; starting spend never reverses a person's change` };
  if (holder.kind === 'unknown') return { allowed: false, outcome: 'skipped_manual_override', reason: `the autopilot cannot tell who paused it (${holder.detail}); it does not start spend it cannot account for` };
  const named = rule.onlyIfPausedBy;
  if (named !== undefined) {
    if (holder.kind === 'rule' && named.includes(holder.rule_id) && holdsStopped(holder)) return { allowed: true, reason: `held paused by ${holder.rule_id}, which this rule resumes` };
    if (holder.kind === 'creation') return { allowed: false, outcome: 'skipped_manual_override', reason: `not paused by ${named.join(' or ')}: it is as it was created` };
    if (holder.kind === 'rule' && !holdsStopped(holder)) return { allowed: false, outcome: 'skipped_manual_override', reason: `not held paused by ${named.join(' or ')} (last held by ${describeHolder(holder)})` };
    return { allowed: false, outcome: 'skipped_conflict', reason: `held paused by ${describeHolder(holder)}, not by ${named.join(' or ')}, which this rule resumes` };
  }
  if (holder.kind === 'creation') return { allowed: true, reason: 'unchanged since its creation' };
  if (!holdsStopped(holder)) return { allowed: true, reason: `last held by ${holder.rule_id}, which wants it ${String(holder.intent)}` };
  if (holder.priority >= rule.priority) {
    return { allowed: false, outcome: 'skipped_conflict', reason: `held paused by ${describeHolder(holder)}: priority ${holder.priority} ≥ ${rule.priority}, and this rule does not name it in only_if_paused_by` };
  }
  return { allowed: true, reason: `held paused by ${holder.rule_id} at lower priority (${holder.priority} < ${rule.priority})` };
}

/**
 * Whether a live rule matching an entity already in its target value takes hold of it: only over
 * nobody (creation), itself, a rule it names, or a rule of lower or equal priority; never over a
 * person or an unknown change.
 */
export function mayAssert(holder: Holder, rule: StartRight): boolean {
  if (holder.kind === 'creation') return true;
  if (holder.kind !== 'rule') return false;
  return holder.rule_id === rule.ruleId || holder.priority <= rule.priority || (rule.onlyIfPausedBy?.includes(holder.rule_id) ?? false);
}
