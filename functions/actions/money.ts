// Money actions share one shape: a change by a percentage or an amount of one value in integer
// micros (a campaign's lifetime budget, an ad group's max bid), computed once from the value read
// into an absolute target, within the rule's ceiling or floor, Thrad's range, and the engine-wide
// safety limit of one change; set with an update call; confirmed when the value equals the target.
// Never compounded: retries, reconciliation and undo set the target, they never re-apply a change.
import * as z from 'zod';
import type { ThradClient } from '../thrad/client';
import type { Level } from '../thrad/wire';
import { formatUsdMicros } from './classes';
import { snapshotOf } from './snapshot';
import { messageSchema } from './status';
import { DEFAULT_MAX_CHANGE_PERCENT, MAX_CHANGE_PERCENT_ENV } from './limits';
import type { ActionAdvice, ActionDefinition, ActionPlan, ActionValue, EntitySnapshot, ExecuteRequest, ExecuteResult, HeldClass, PlanContext } from './types';

export const MICROS_PER_USD = 1_000_000;
const usd = formatUsdMicros;

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
  /** The value as the entity carries it; undefined when it was not read (an ad group listed through insights). */
  read: (entity: EntitySnapshot) => number | null | undefined;
  /** Also never below this (a budget: what the campaign has spent). */
  floorFromContext?: (context: PlanContext) => { micros: number; why: string } | null;
  update: (client: ThradClient, request: ExecuteRequest, target: number) => Promise<EntitySnapshot>;
  words: { verb: string; present: string; past: string };
  /** A ceiling to suggest in the validator's advice, in USD (`"max_usd": 2000`). */
  exampleCeilingUsd: number;
  exampleFloorUsd: number;
}

/** The target of a money change on `current`, or why it has none; pure, every bound said in `note`. */
export function planMoney(spec: Pick<MoneySpec<string>, 'noun' | 'range' | 'floorFromContext'>, current: number | null | undefined, params: MoneyParams, context: PlanContext): ActionPlan {
  if (current === undefined) return { kind: 'not_possible', outcome: 'skipped_not_applicable', reason: `its ${spec.noun} could not be read this run (it was listed through insights, which do not carry it, and reading it failed); nothing computed from a value not read` };
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
      const current = spec.read(entity) ?? null;
      return typeof target === 'number' && current !== null && target < current ? 2 : 1;
    },
    spend: (entity, target) => {
      const current = spec.read(entity) ?? null;
      if (typeof target !== 'number' || current === null) return 'none';
      return target > current ? 'starts' : target < current ? 'stops' : 'none';
    },
    needsLifetimeSpend: spec.floorFromContext !== undefined,
    calls: true,
    // Always re-read: a money change is computed from the value read, and sets an absolute value.
    recheck: () => true,
    read: (entity) => spec.read(entity) ?? null,
    plan: (entity, params, context) => planMoney(spec, spec.read(entity), params, context),
    async execute(client, request): Promise<ExecuteResult> {
      const target = num(request.target);
      if (target === null) throw new RangeError(`${spec.name} needs a target in micros`);
      const entity = await spec.update(client, request, target);
      const after = spec.read(entity) ?? null;
      return { entity, valueBefore: request.valueBefore, valueAfter: after, changed: after === target && request.valueBefore !== target, attempts: 1, earlierAttemptMayHaveApplied: false, ambiguous: false, answer: { httpStatus: 200, code: null } };
    },
    confirms: (entity, target) => spec.read(entity) === target,
    inverse: (record) => (typeof record.value_before === 'number' ? { action: spec.name, target: record.value_before } : { refuse: `no ${spec.noun} before the change is on record` }),
    micros: num,
    words: spec.words,
    advice: (params, rule) => moneyAdvice(spec, params, rule),
  };
}

/** The validator's messages for a money change: each bound it lacks, or has the wrong way round. */
export function moneyAdvice(spec: Pick<MoneySpec<string>, 'name' | 'noun' | 'range' | 'exampleCeilingUsd' | 'exampleFloorUsd'>, params: MoneyParams, rule: { mode: unknown; cooldown: unknown }): ActionAdvice[] {
  const out: ActionAdvice[] = [];
  const amount = params.by_percent ?? params.by_usd;
  if (amount === undefined) return out;
  const up = amount > 0;
  const by = params.by_percent !== undefined ? `${params.by_percent > 0 ? '+' : ''}${params.by_percent}%` : `${(params.by_usd ?? 0) > 0 ? '+' : '-'}$${Math.abs(params.by_usd ?? 0)}`;
  if (params.by_percent !== undefined && params.by_percent <= -100) {
    out.push({ severity: 'error', code: 'money_change_too_large', path: ['by_percent'], message: `a decrease of ${-params.by_percent}% would take the whole ${spec.noun} away; a decrease is a share of the current value, below 100 (e.g. "by_percent": -20)` });
  } else if (params.by_percent !== undefined && Math.abs(params.by_percent) > DEFAULT_MAX_CHANGE_PERCENT) {
    out.push({ severity: 'warning', code: 'money_change_clipped', path: ['by_percent'], message: `${by} is more than the engine's safety limit of one change (${DEFAULT_MAX_CHANGE_PERCENT}% of the current value by default, ${MAX_CHANGE_PERCENT_ENV}): every change will be clipped to it${up ? `; to grow further, let the rule repeat after its cooldown, within a ceiling such as "max_usd": ${spec.exampleCeilingUsd}` : ''}` });
  }
  if (up && params.max_usd === undefined) {
    out.push({ severity: 'warning', code: 'money_no_ceiling', path: ['max_usd'], message: `an increase without "max_usd" has no ceiling: the ${spec.noun} grows ${by} every time the rule matches (after its cooldown), without end; add one, e.g. "max_usd": ${spec.exampleCeilingUsd}` });
  }
  if (!up && params.min_usd === undefined) {
    out.push({ severity: 'warning', code: 'money_no_floor', path: ['min_usd'], message: `a decrease without "min_usd" goes down to ${usd(spec.range.min)} (Thrad's minimum) over repeated matches; add a floor, e.g. "min_usd": ${spec.exampleFloorUsd}` });
  }
  if (!up && params.max_usd !== undefined && params.min_usd === undefined) {
    out.push({ severity: 'warning', code: 'money_bound_direction', path: ['max_usd'], message: `"max_usd" is the ceiling when increasing, and this rule decreases (${by}); the floor of a decrease is "min_usd"` });
  }
  if (up && params.min_usd !== undefined && params.max_usd === undefined) {
    out.push({ severity: 'warning', code: 'money_bound_direction', path: ['min_usd'], message: `"min_usd" is the floor when decreasing, and this rule increases (${by}); the ceiling of an increase is "max_usd"` });
  }
  if (params.max_usd !== undefined && params.min_usd !== undefined && params.min_usd > params.max_usd) {
    out.push({ severity: 'error', code: 'money_bounds_crossed', path: ['min_usd'], message: `min_usd ${params.min_usd} is above max_usd ${params.max_usd}` });
  }
  if (params.max_usd !== undefined && params.max_usd * MICROS_PER_USD > spec.range.max) {
    out.push({ severity: 'warning', code: 'money_bound_out_of_range', path: ['max_usd'], message: `max_usd ${params.max_usd} is above Thrad's largest ${spec.noun} (${usd(spec.range.max)}); the ${spec.noun} never goes above ${usd(spec.range.max)}` });
  }
  if (rule.cooldown === undefined && rule.mode !== 'dry_run') {
    out.push({ severity: 'warning', code: 'money_no_cooldown', path: ['guards', 'cooldown'], rulePath: true, message: `a ${spec.name} rule without a cooldown changes the ${spec.noun} again on every run it matches (${by} each time compounds); set one, e.g. "guards": {"cooldown": "24h"}` });
  }
  return out;
}

/** The entity after an update, as the actions see it. */
export const updatedSnapshot = (level: Level, resource: Parameters<typeof snapshotOf>[1]): EntitySnapshot => snapshotOf(level, resource);
