// Money actions share one shape: a change by a percentage or an amount of one value in integer
// micros (a campaign's lifetime budget, an ad group's max bid), computed once from the value read
// into an absolute target, within the rule's ceiling or floor, Thrad's range, and the engine-wide
// safety limit of one change; set with an update call; confirmed when the value equals the target.
// Never compounded: retries, reconciliation and undo set the target, they never re-apply a change.
import * as z from 'zod';
import type { ThradClient } from '../thrad/client';
import type { Level } from '../thrad/wire';
import { snapshotOf } from './snapshot';
import { messageSchema } from './status';
import type { ActionDefinition, ActionPlan, ActionValue, EntitySnapshot, ExecuteRequest, ExecuteResult, HeldClass, PlanContext } from './types';

export const MICROS_PER_USD = 1_000_000;
const usd = (micros: number): string => `$${(micros / MICROS_PER_USD).toFixed(2)}`;

/** The parameters every money action takes. */
export function moneyParams<Name extends string>(name: Name, describe: { value: string; ceiling: string; floor: string }) {
  return z
    .strictObject({
      action: z.literal(name),
      by_percent: z.number().refine((n) => n !== 0, 'a change of 0% changes nothing').optional().describe(`Change the ${describe.value} by this percentage of its current value (negative: decrease), e.g. 20 or -10.`),
      by_usd: z.number().refine((n) => n !== 0, 'a change of $0 changes nothing').optional().describe(`Change the ${describe.value} by this amount in USD (negative: decrease).`),
      max_usd: z.number().positive().optional().describe(`The ceiling when increasing, in USD: ${describe.ceiling}.`),
      min_usd: z.number().nonnegative().optional().describe(`The floor when decreasing, in USD: ${describe.floor}.`),
      message: messageSchema,
    })
    .refine((p) => (p.by_percent === undefined) !== (p.by_usd === undefined), { message: 'give exactly one of by_percent or by_usd' });
}

export interface MoneyParams {
  by_percent?: number;
  by_usd?: number;
  max_usd?: number;
  min_usd?: number;
}

interface MoneySpec<Name extends string> {
  name: Name;
  cls: Exclude<HeldClass, 'status'>;
  levels: readonly Level[];
  levelHint: string;
  description: string;
  /** `lifetime budget`, `max bid`. */
  noun: string;
  /** Thrad's range for the value, in micros. */
  range: { min: number; max: number; minWhy: string; maxWhy: string };
  read: (entity: EntitySnapshot) => number | null;
  /** Also never below this (a budget: what the campaign has spent). */
  floorFromContext?: (context: PlanContext) => { micros: number; why: string } | null;
  update: (client: ThradClient, request: ExecuteRequest, target: number) => Promise<EntitySnapshot>;
  words: { verb: string; present: string; past: string };
}

/** The target of a money change on `current`, or why it has none; pure, every bound said in `note`. */
export function planMoney(spec: Pick<MoneySpec<string>, 'noun' | 'range' | 'floorFromContext'>, current: number | null, params: MoneyParams, context: PlanContext): ActionPlan {
  if (current === null) return { kind: 'not_possible', outcome: 'skipped_not_applicable', reason: `it has no ${spec.noun} to change` };
  const asked = params.by_percent !== undefined ? (current * params.by_percent) / 100 : (params.by_usd ?? 0) * MICROS_PER_USD;
  const direction = asked > 0 ? 'up' : 'down';
  const notes: string[] = [];
  let delta = asked;
  const limit = current * context.maxChangeFraction;
  if (Math.abs(delta) > limit) {
    delta = Math.sign(delta) * limit;
    notes.push(`clipped from ${asked > 0 ? '+' : '-'}${usd(Math.abs(asked))} to ${asked > 0 ? '+' : '-'}${usd(limit)} by the safety limit of one change (${Math.round(context.maxChangeFraction * 100)}% of the current value)`);
  }
  let target = Math.round(current + delta);
  if (direction === 'up' && params.max_usd !== undefined && target > params.max_usd * MICROS_PER_USD) {
    target = Math.round(params.max_usd * MICROS_PER_USD);
    notes.push(`held at the ceiling max_usd ${usd(target)}`);
  }
  if (direction === 'down' && params.min_usd !== undefined && target < params.min_usd * MICROS_PER_USD) {
    target = Math.round(params.min_usd * MICROS_PER_USD);
    notes.push(`held at the floor min_usd ${usd(target)}`);
  }
  const floors = [{ micros: spec.range.min, why: spec.range.minWhy }, ...(spec.floorFromContext?.(context) ? [spec.floorFromContext(context) as { micros: number; why: string }] : [])];
  for (const floor of floors) {
    if (target < floor.micros) {
      target = Math.ceil(floor.micros);
      notes.push(`not below ${floor.why} (${usd(target)})`);
    }
  }
  if (target > spec.range.max) {
    target = spec.range.max;
    notes.push(`not above ${spec.range.maxWhy} (${usd(target)})`);
  }
  if (target === current || (direction === 'up' && target < current) || (direction === 'down' && target > current)) {
    return { kind: 'already', direction, reason: `the ${spec.noun} is ${usd(current)}, already as far ${direction === 'up' ? 'up' : 'down'} as this rule goes${notes.length ? ` (${notes.join('; ')})` : ''}` };
  }
  return { kind: 'set', target, note: `${spec.noun} ${usd(current)} → ${usd(target)}${notes.length ? ` (${notes.join('; ')})` : ''}` };
}

export function moneyAction<Name extends string, Params extends { action: Name } & MoneyParams>(spec: MoneySpec<Name>, schema: z.ZodType<Params>, example: Params): ActionDefinition<Name, Params> {
  const num = (v: ActionValue): number | null => (typeof v === 'number' ? v : null);
  return {
    name: spec.name,
    schema,
    example,
    description: spec.description,
    levels: spec.levels,
    levelHint: spec.levelHint,
    conflictClass: spec.cls,
    // On one value at equal priority, the decrease wins.
    precedence: (entity, target) => {
      const current = spec.read(entity);
      return typeof target === 'number' && current !== null && target < current ? 2 : 1;
    },
    spend: (entity, target) => {
      const current = spec.read(entity);
      if (typeof target !== 'number' || current === null) return 'none';
      return target > current ? 'starts' : target < current ? 'stops' : 'none';
    },
    needsLifetimeSpend: spec.floorFromContext !== undefined,
    calls: true,
    // Always re-read: a money change is computed from the value read, and sets an absolute value.
    recheck: () => true,
    read: (entity) => spec.read(entity),
    plan: (entity, params, context) => planMoney(spec, spec.read(entity), params, context),
    async execute(client, request): Promise<ExecuteResult> {
      const target = num(request.target);
      if (target === null) throw new RangeError(`${spec.name} needs a target in micros`);
      const entity = await spec.update(client, request, target);
      const after = spec.read(entity);
      return { entity, valueBefore: request.valueBefore, valueAfter: after, changed: after === target && request.valueBefore !== target, attempts: 1, earlierAttemptMayHaveApplied: false };
    },
    confirms: (entity, target) => spec.read(entity) === target,
    inverse: (record) => (typeof record.value_before === 'number' ? { action: spec.name, target: record.value_before } : { refuse: `no ${spec.noun} before the change is on record` }),
    micros: num,
    words: spec.words,
  };
}

/** The entity after an update, as the actions see it. */
export const updatedSnapshot = (level: Level, resource: Parameters<typeof snapshotOf>[1]): EntitySnapshot => snapshotOf(level, resource);
