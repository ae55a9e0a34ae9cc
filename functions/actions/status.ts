// The three status actions share one shape: `/activate`, `/pause` or `/archive` on the entity,
// a target status as read back (ad groups and ads read archived as paused), and a change that
// counts only when the answer shows one.
import * as z from 'zod';
import { READ_BACK_STATUS, type EntityStatus, type Level, type StatusAction } from '../thrad/wire';
import { snapshotOf } from './snapshot';
import type { ActionDefinition, ActionPlan, ActionWords, EntitySnapshot, ExecuteRequest, ExecuteResult, Inverse, SpendEffect } from './types';

export const messageSchema = z.string().max(500).optional().describe('Added to the notification.');

interface StatusSpec<Name extends StatusAction, Params extends { action: Name }> {
  name: Name;
  schema: z.ZodType<Params>;
  example: Params;
  description: string;
  levels: readonly Level[];
  levelHint?: string;
  precedence: number;
  spend: SpendEffect;
  words: ActionWords;
  inverse: (record: { value_before: string | number | null; level: Level }) => Inverse;
  /** Why the action cannot apply to this entity now, when it cannot (beyond already being there). */
  blocked?: (entity: EntitySnapshot) => ActionPlan | null;
  recheck: (level: Level) => boolean;
}

export function statusAction<Name extends StatusAction, Params extends { action: Name }>(spec: StatusSpec<Name, Params>): ActionDefinition<Name, Params> {
  const targetAt = (level: Level): EntityStatus => READ_BACK_STATUS[level][spec.name];
  return {
    name: spec.name,
    schema: spec.schema,
    example: spec.example,
    description: spec.description,
    levels: spec.levels,
    levelHint: spec.levelHint,
    conflictClass: 'status',
    precedence: () => spec.precedence,
    spend: () => spec.spend,
    micros: () => null,
    calls: true,
    recheck: spec.recheck,
    read: (entity) => entity.status,
    plan(entity): ActionPlan {
      const target = targetAt(entity.level);
      if (entity.status === target) return { kind: 'already', reason: `already ${target}` };
      if (entity.status === 'archived') return { kind: 'already', reason: `archived: ${spec.name} cannot apply to an archived ${entity.level.replace('_', ' ')} (archiving is final)` };
      return spec.blocked?.(entity) ?? { kind: 'set', target };
    },
    async execute(client, request: ExecuteRequest): Promise<ExecuteResult> {
      const result = await client.setStatus(request.level, request.entityId, spec.name, request.options);
      const entity = snapshotOf(request.level, result.entity);
      const target = targetAt(request.level);
      // A change shows in the answer: the target status where the entity (as read just before,
      // when the action re-checks) was not there, and either a clean success or an earlier attempt
      // of ours that may have landed. A refusal as "already there" (campaign_not_running) is not a
      // change. (updated_at has one-second resolution, so it cannot tell two changes in one second apart.)
      const changed = entity.status === target && request.valueBefore !== target && (result.outcome === 'changed' || result.earlierAttemptMayHaveApplied);
      const ambiguous = changed && result.outcome === 'already_in_state';
      const answer = result.refusal ? { httpStatus: result.refusal.httpStatus, code: result.refusal.code } : { httpStatus: 200, code: null };
      return { entity, valueBefore: request.valueBefore, valueAfter: entity.status, changed, attempts: result.attempts, earlierAttemptMayHaveApplied: result.earlierAttemptMayHaveApplied, ambiguous, answer };
    },
    confirms: (entity, target) => entity.status === target,
    inverse: spec.inverse,
    words: spec.words,
  };
}
