// Rule validation in layers: JSON syntax, the zod shape (every key known, every type right),
// then the language's own checks (schedules, time zones, metric/field/action per level, op and
// value types, percent-looking fractions, ratio metrics without a minimum-data guard), then the
// whole set (duplicate ids, references between rules). Every issue names the file, the rule id
// when known, the JSON path, what was expected and what was found. A bad rule never hides
// another's problems and never keeps the valid rules from loading.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type * as z from 'zod';
import { valueAt } from '../shared/issues';
import { isValidTimeZone } from '../shared/timezone';
import type { Level } from '../thrad/wire';
import { ScheduleSyntaxError, type RuleIssue } from './errors';
import { ACTION_NAMES, ACTIONS, isActionName, onlyIfPausedBy } from '../actions/registry';
import type { AdviceContext } from '../actions/types';
import { parseSchedule } from './schedule';
import {
  compareLeafSchema,
  fieldLeafSchema,
  guardsSchema,
  metricLeafSchema,
  ruleSchema,
  scheduleSchema,
  scopeSchema,
  type Rule,
} from './schema';
import { isWindowName } from './windows';
import { BASE_COUNTS, FIELD_INFO, METRIC_INFO, type Field, type Metric, type Op } from './vocabulary';

type PathPart = string | number;

export interface LoadedRule {
  rule: Rule;
  file: string;
  /** Position in the file when the file holds an array. */
  index: number | null;
  /** Content hash of the rule as loaded (defaults applied): recorded as rule_version. */
  version: string;
}

export interface RuleSetLoad {
  rules: LoadedRule[];
  issues: RuleIssue[];
  files: string[];
}

export function renderPath(path: readonly PathPart[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${truncate(JSON.stringify(value))})`;
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).map((k) => `"${k}"`).join(', ') || '(none)'}`;
  if (typeof value === 'string') return `the string ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return typeof value;
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Edit distance, for "did you mean" hints on misspelt keys and values. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j];
      row[j] = Math.min((row[j]) + 1, (row[j - 1]) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

function suggestion(found: string, options: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const option of options) {
    const d = distance(found.toLowerCase(), option.toLowerCase());
    if (d < bestDistance) {
      best = option;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(found.length / 3)) ? ` Did you mean "${best}"?` : '';
}

function objectKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** The keys allowed at a path of a rule object (for unknown-key messages). */
function allowedKeysAt(path: readonly PathPart[]): string[] {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (path.length === 0) return objectKeys(ruleSchema);
  if (last === 'schedule') return objectKeys(scheduleSchema);
  if (last === 'scope') return objectKeys(scopeSchema);
  if (last === 'guards') return objectKeys(guardsSchema);
  if (last === 'min_data' && parent === 'guards') return ['impressions', 'clicks', 'spend'];
  return [];
}

class Collector {
  readonly issues: RuleIssue[] = [];
  constructor(
    private readonly file: string,
    private readonly prefix: readonly PathPart[],
    private ruleId: string | null,
  ) {}

  setRuleId(id: string | null): void {
    this.ruleId = id;
  }

  add(severity: RuleIssue['severity'], code: string, path: readonly PathPart[], message: string): void {
    this.issues.push({ severity, code, file: this.file, ruleId: this.ruleId, path: renderPath([...this.prefix, ...path]), message });
  }

  error(code: string, path: readonly PathPart[], message: string): void {
    this.add('error', code, path, message);
  }

  warning(code: string, path: readonly PathPart[], message: string): void {
    this.add('warning', code, path, message);
  }

  get hasErrors(): boolean {
    return this.issues.some((i) => i.severity === 'error');
  }

  /** zod issues of `input` (parsed at `base`) → issues with expected/found messages. */
  zod(issues: readonly z.core.$ZodIssue[], input: unknown, base: readonly PathPart[] = [], allowed?: (path: readonly PathPart[]) => string[]): void {
    for (const issue of issues) {
      const path = [...base, ...(issue.path as PathPart[])];
      const found = valueAt(input, issue.path);
      if (path[path.length - 1] === 'window' && found !== undefined) {
        this.error('invalid_window', path, `expected a window: today, yesterday, last_3_days, last_7_days, last_14_days, last_30_days, this_month, lifetime or last_N_hours (e.g. last_6_hours); found ${describeFound(found)}.${typeof found === 'string' ? suggestion(found, ['today', 'yesterday', 'last_3_days', 'last_7_days', 'last_14_days', 'last_30_days', 'this_month', 'lifetime']) : ''}`);
        continue;
      }
      if (found === undefined && issue.code !== 'unrecognized_keys') {
        const expected = issue.code === 'invalid_value' ? `one of ${issue.values.map(String).join(', ')}` : issue.code === 'invalid_type' ? issue.expected : 'a value';
        this.error('missing_key', path, `missing required key "${String(path[path.length - 1])}" (expected ${expected})`);
        continue;
      }
      switch (issue.code) {
        case 'unrecognized_keys':
          for (const key of issue.keys) {
            const options = (allowed ?? allowedKeysAt)(path);
            this.error('unknown_key', [...path, key], `unknown key "${key}"${options.length ? `; expected one of ${options.join(', ')}.${suggestion(key, options)}` : ''}`);
          }
          break;
        case 'invalid_type':
          this.error('invalid_type', path, `expected ${issue.expected}, found ${describeFound(found)}`);
          break;
        case 'invalid_value': {
          const options = issue.values.map((v) => String(v));
          this.error('invalid_value', path, `expected one of ${options.join(', ')}, found ${describeFound(found)}.${typeof found === 'string' ? suggestion(found, options) : ''}`);
          break;
        }
        case 'invalid_union':
          this.error('invalid_value', path, `found ${describeFound(found)}, which is none of the accepted forms`);
          break;
        default:
          this.error('invalid_value', path, `${issue.message.replace(/^Invalid input: /, '')}; found ${describeFound(found)}`);
      }
    }
  }
}

interface ConditionContext {
  level: Level;
  hasMinData: boolean;
  out: Collector;
}

const TIME_VALUE = /^now(?:([+-])(\d+)([mhd]))?$/;

/** Checks for a time value: ISO 8601 with a zone, or now / now±N(m|h|d). */
export function isTimeValue(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (TIME_VALUE.test(value)) return true;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value));
}

function checkNumberValue(op: Op, value: unknown, path: readonly PathPart[], what: string, out: Collector): number[] {
  const numbers: number[] = [];
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  switch (op) {
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'eq':
    case 'neq':
      if (!isNum(value)) out.error('invalid_value', [...path, 'value'], `op ${op} on ${what} expects a number, found ${describeFound(value)}`);
      else numbers.push(value);
      break;
    case 'between':
      if (!Array.isArray(value) || value.length !== 2 || !isNum(value[0]) || !isNum(value[1])) {
        out.error('invalid_value', [...path, 'value'], `op between expects [min, max] (two numbers), found ${describeFound(value)}`);
      } else if (value[0] > value[1]) {
        out.error('invalid_value', [...path, 'value'], `op between expects min ≤ max, found [${value[0]}, ${value[1]}]`);
      } else numbers.push(value[0], value[1]);
      break;
    case 'in':
    case 'not_in':
      if (!Array.isArray(value) || value.length === 0 || !value.every(isNum)) {
        out.error('invalid_value', [...path, 'value'], `op ${op} on ${what} expects a non-empty list of numbers, found ${describeFound(value)}`);
      } else numbers.push(...value);
      break;
    case 'contains':
      out.error('invalid_op', [...path, 'op'], `op contains applies to name only; for ${what} use gt, gte, lt, lte, eq, neq, between, in or not_in`);
      break;
  }
  return numbers;
}

function checkMetricUse(metric: Metric, window: string | undefined, path: readonly PathPart[], ctx: ConditionContext, windowKey: 'window' = 'window'): void {
  const info = METRIC_INFO[metric];
  if (!info.levels.includes(ctx.level)) {
    ctx.out.error('metric_level', [...path, 'metric'], `${metric} is only available at ${info.levels.join(', ')} level; this rule's level is ${ctx.level}`);
  }
  if (info.onlyWindow) {
    if (window !== undefined && window !== info.onlyWindow) {
      ctx.out.error('invalid_window', [...path, windowKey], `${metric} is always over ${info.onlyWindow}; leave out window or set it to "${info.onlyWindow}", found "${window}"`);
    }
  } else if (window === undefined) {
    ctx.out.error('missing_key', [...path, windowKey], `${metric} needs a window (today, yesterday, last_3_days, last_7_days, last_14_days, last_30_days, this_month, lifetime, last_N_hours)`);
  } else if (!isWindowName(window)) {
    ctx.out.error('invalid_window', [...path, windowKey], `expected a window such as last_7_days or last_6_hours (at most last_8784_hours), found "${window}"`);
  }
}

function checkFraction(metric: Metric, numbers: readonly number[], path: readonly PathPart[], out: Collector): void {
  const info = METRIC_INFO[metric];
  if (info.unit === 'fraction') {
    const big = numbers.find((n) => n > 1);
    if (big !== undefined) {
      out.error('fraction_as_percent', [...path, 'value'], `${metric} is a fraction (0.05 = 5%), so ${big} would mean ${big * 100}%. Did you mean ${big / 100}?`);
    }
  }
  const negative = numbers.find((n) => n < 0);
  if (negative !== undefined) out.error('invalid_value', [...path, 'value'], `${metric} is never negative; found ${negative}`);
}

function checkCondition(node: unknown, path: PathPart[], ctx: ConditionContext, siblings: readonly unknown[]): void {
  const { out } = ctx;
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    out.error('invalid_condition', path, `expected a condition: {"all": [...]}, {"any": [...]}, {"not": {...}}, or a leaf with "metric" or "field"; found ${describeFound(node)}`);
    return;
  }
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  const combinators = keys.filter((k) => k === 'all' || k === 'any' || k === 'not');
  if (combinators.length > 0) {
    if (combinators.length > 1 || keys.length > 1) {
      const extra = keys.find((k) => k !== combinators[0]) as string;
      out.error('unknown_key', [...path, extra], `a condition with "${combinators[0] as string}" holds nothing else; found key "${extra}" beside it (nest it instead)`);
      return;
    }
    const kind = combinators[0];
    const inner = obj[kind];
    if (kind === 'not') {
      checkCondition(inner, [...path, 'not'], ctx, []);
      return;
    }
    if (!Array.isArray(inner) || inner.length === 0) {
      out.error('invalid_condition', [...path, kind], `"${kind}" expects a non-empty list of conditions, found ${describeFound(inner)}`);
      return;
    }
    inner.forEach((child, i) => checkCondition(child, [...path, kind, i], ctx, kind === 'all' ? inner : []));
    return;
  }
  if ('compare_to' in obj) {
    const parsed = compareLeafSchema.safeParse(obj);
    if (!parsed.success) {
      out.zod(parsed.error.issues, obj, path, (p) => (p[p.length - 1] === 'compare_to' ? ['metric', 'window', 'multiplier'] : objectKeys(compareLeafSchema)));
      return;
    }
    const leaf = parsed.data;
    checkMetricUse(leaf.metric, leaf.window, path, ctx);
    checkMetricUse(leaf.compare_to.metric, leaf.compare_to.window, [...path, 'compare_to'], ctx);
    const left = METRIC_INFO[leaf.metric].unit;
    const right = METRIC_INFO[leaf.compare_to.metric].unit;
    if (left !== right) {
      out.error('unit_mismatch', [...path, 'compare_to', 'metric'], `compares ${leaf.metric} (${left}) with ${leaf.compare_to.metric} (${right}); compare metrics of the same unit`);
    }
    if (leaf.metric === leaf.compare_to.metric && leaf.window === leaf.compare_to.window && leaf.compare_to.multiplier === 1) {
      out.warning('always_same', path, `compares ${leaf.metric} over ${leaf.window ?? 'its window'} with itself`);
    }
    for (const [metric, window] of [[leaf.metric, leaf.window], [leaf.compare_to.metric, leaf.compare_to.window]] as const) {
      warnRatio(metric, window, path, ctx, siblings);
    }
    return;
  }
  if ('metric' in obj) {
    const parsed = metricLeafSchema.safeParse(obj);
    if (!parsed.success) {
      out.zod(parsed.error.issues, obj, path, () => objectKeys(metricLeafSchema));
      return;
    }
    const leaf = parsed.data;
    checkMetricUse(leaf.metric, leaf.window, path, ctx);
    const numbers = checkNumberValue(leaf.op, leaf.value, path, leaf.metric, out);
    checkFraction(leaf.metric, numbers, path, out);
    warnRatio(leaf.metric, leaf.window, path, ctx, siblings);
    return;
  }
  if ('field' in obj) {
    const parsed = fieldLeafSchema.safeParse(obj);
    if (!parsed.success) {
      out.zod(parsed.error.issues, obj, path, () => objectKeys(fieldLeafSchema));
      return;
    }
    checkFieldLeaf(parsed.data.field, parsed.data.op, parsed.data.value, path, ctx);
    return;
  }
  out.error('invalid_condition', path, `a condition needs "all", "any", "not", "metric" or "field"; found ${describeFound(node)}`);
}

function checkFieldLeaf(field: Field, op: Op, value: unknown, path: readonly PathPart[], ctx: ConditionContext): void {
  const { out } = ctx;
  const info = FIELD_INFO[field];
  if (!info.levels.includes(ctx.level)) {
    out.error('field_level', [...path, 'field'], `${field} is only available at ${info.levels.join(', ')} level; this rule's level is ${ctx.level}${field === 'review_status' ? ' (ad groups have no review status)' : ''}`);
    return;
  }
  if (!info.ops.includes(op)) {
    out.error('invalid_op', [...path, 'op'], `op ${op} does not apply to ${field}; use ${info.ops.join(', ')}`);
    return;
  }
  const listOp = op === 'in' || op === 'not_in';
  const items: unknown[] = listOp ? (Array.isArray(value) ? value : [Symbol.for('not a list')]) : op === 'between' ? (Array.isArray(value) ? value : [Symbol.for('not a pair')]) : [value];
  if (listOp && (!Array.isArray(value) || value.length === 0)) {
    out.error('invalid_value', [...path, 'value'], `op ${op} expects a non-empty list, found ${describeFound(value)}`);
    return;
  }
  if (op === 'between' && (!Array.isArray(value) || value.length !== 2)) {
    out.error('invalid_value', [...path, 'value'], `op between expects [min, max], found ${describeFound(value)}`);
    return;
  }
  if (value === null) {
    if (!info.nullable || (op !== 'eq' && op !== 'neq')) {
      out.error('invalid_value', [...path, 'value'], info.nullable ? `null only works with eq or neq (${field} eq null: open-ended)` : `${field} is never null; found null`);
    }
    return;
  }
  for (const item of items) {
    switch (info.type) {
      case 'enum':
        if (typeof item !== 'string' || !(info.values ?? []).includes(item)) {
          out.error('invalid_value', [...path, 'value'], `expected ${listOp ? 'a list of ' : ''}one of ${(info.values ?? []).join(', ')}, found ${describeFound(item)}.${typeof item === 'string' ? suggestion(item, info.values ?? []) : ''}`);
          return;
        }
        break;
      case 'string':
        if (typeof item !== 'string') {
          out.error('invalid_value', [...path, 'value'], `expected a string, found ${describeFound(item)}`);
          return;
        }
        break;
      case 'usd':
        if (typeof item !== 'number' || !Number.isFinite(item) || item < 0) {
          out.error('invalid_value', [...path, 'value'], `expected an amount in USD (a number ≥ 0), found ${describeFound(item)}`);
          return;
        }
        break;
      case 'time':
        if (!isTimeValue(item)) {
          out.error('invalid_value', [...path, 'value'], `expected an ISO 8601 time with a zone (2026-12-01T00:00:00Z) or now, now-3d, now+12h; found ${describeFound(item)}`);
          return;
        }
        break;
    }
  }
}

/** A ratio metric decides on thin data unless the rule has a minimum-data guard or a count threshold beside it. */
function warnRatio(metric: Metric, window: string | undefined, path: readonly PathPart[], ctx: ConditionContext, siblings: readonly unknown[]): void {
  if (!METRIC_INFO[metric].ratio || ctx.hasMinData) return;
  const guarded = siblings.some((s) => {
    if (s === null || typeof s !== 'object') return false;
    const leaf = s as Record<string, unknown>;
    return typeof leaf.metric === 'string' && leaf.window === window && (BASE_COUNTS as readonly string[]).includes(leaf.metric) && (leaf.op === 'gt' || leaf.op === 'gte');
  });
  if (guarded) return;
  const divisor = METRIC_INFO[metric].needs[1] ?? 'clicks';
  ctx.out.warning('ratio_without_min_data', [...path, 'metric'], `${metric} over ${window ?? 'its window'} can swing on a handful of ${divisor}; add guards.min_data (e.g. {"${divisor}": ${divisor === 'impressions' ? 1000 : 20}}) or a threshold on ${divisor} beside it, so it decides only on enough data`);
}

/** The leaves of a (raw) condition tree. */
function leavesOf(node: unknown): Record<string, unknown>[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const obj = node as Record<string, unknown>;
  if (Array.isArray(obj.all)) return obj.all.flatMap(leavesOf);
  if (Array.isArray(obj.any)) return obj.any.flatMap(leavesOf);
  if ('not' in obj) return leavesOf(obj.not);
  return [obj];
}

const DELIVERY_METRICS: readonly string[] = ['impressions', 'clicks', 'spend'];

/**
 * An ad-group or ad rule about missing delivery (few or no impressions, clicks or spend) that does
 * not look at the parents: it would also match everything under a campaign someone paused (a
 * daypart pause for the night), and pausing those leaves the morning resume delivering nothing.
 */
function warnChildWithoutParents(when: unknown, level: Level, out: Collector): void {
  if (level === 'campaign') return;
  const leaves = leavesOf(when);
  const aboutMissingDelivery = leaves.some((l) => typeof l.metric === 'string' && DELIVERY_METRICS.includes(l.metric) && (l.op === 'eq' || l.op === 'lt' || l.op === 'lte') && l.compare_to === undefined);
  if (!aboutMissingDelivery) return;
  const fields = new Set(leaves.map((l) => l.field));
  const missing = (level === 'ad' ? ['campaign_status', 'ad_group_status'] : ['campaign_status']).filter((f) => !fields.has(f));
  if (missing.length === 0) return;
  out.warning('child_without_parent_status', ['when'], `a ${level.replace('_', ' ')} rule about missing delivery also matches every ${level.replace('_', ' ')} whose ${missing.map((f) => f.replace('_status', '').replace('_', ' ')).join(' or ')} is paused (a night's daypart pause, a person's pause), where nothing can deliver; add ${missing.map((f) => `{"field": "${f}", "op": "eq", "value": "active"}`).join(' and ')}`);
}

/** The rule's `then`: a known action, available at the rule's level, with that action's parameters. */
function checkAction(then: unknown, level: Level | null, rule: AdviceContext, out: Collector): void {
  if (then === undefined) {
    out.error('missing_key', ['then'], `missing required key "then" (the action: {"action": one of ${ACTION_NAMES.join(', ')}})`);
    return;
  }
  if (then === null || typeof then !== 'object' || Array.isArray(then)) {
    out.error('invalid_type', ['then'], `expected an object such as {"action": "pause"}, found ${describeFound(then)}`);
    return;
  }
  const { action, ...rest } = then as Record<string, unknown>;
  if (typeof action !== 'string' || !isActionName(action)) {
    out.error(action === undefined ? 'missing_key' : 'invalid_value', ['then', 'action'], `expected one of ${ACTION_NAMES.join(', ')}, found ${describeFound(action)}.${typeof action === 'string' ? suggestion(action, ACTION_NAMES) : ''}`);
    return;
  }
  const def = ACTIONS[action];
  if (level && !(def.levels as readonly string[]).includes(level)) {
    out.error('action_level', ['then', 'action'], `${action} is not available for ${level} rules${def.levelHint ? `: ${def.levelHint}` : ` (it applies to ${def.levels.join(', ')})`}`);
  }
  const params: Record<string, unknown> = { action, ...rest };
  if ('only_if_paused_by' in params && action !== 'activate') {
    out.error('only_if_paused_by_action', ['then', 'only_if_paused_by'], `only_if_paused_by limits activate; this rule's action is ${action}`);
    delete params.only_if_paused_by;
  }
  const parsed = def.schema.safeParse(params);
  if (!parsed.success) {
    out.zod(parsed.error.issues, params, ['then'], (p) => (p.length === 1 ? objectKeys(def.schema) : []));
    return;
  }
  // What the action itself says about this use of it (registry `advice`).
  for (const advice of def.advice?.(parsed.data as never, rule) ?? []) out.add(advice.severity, advice.code, advice.rulePath ? advice.path : ['then', ...advice.path], advice.message);
}

/** Validate one rule object (not yet the set): returns the typed rule when it has no errors. */
export function validateRule(raw: unknown, file: string, index: number | null): { rule: Rule | null; issues: RuleIssue[] } {
  const prefix = index === null ? [] : [index];
  const idGuess = raw !== null && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
  const out = new Collector(file, prefix, idGuess);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    out.error('invalid_type', [], `expected a rule object, found ${describeFound(raw)}`);
    return { rule: null, issues: out.issues };
  }
  const obj = raw as Record<string, unknown>;
  // Everything but `when` through the zod shape; `when` through the condition checker.
  const { when: _when, then: _then, ...shellInput } = obj;
  const shell = ruleSchema.omit({ when: true, then: true }).safeParse(shellInput);
  if (!shell.success) out.zod(shell.error.issues, obj);
  if (!('when' in obj)) out.error('missing_key', ['when'], 'missing required key "when" (the condition)');
  const level = typeof obj.level === 'string' && ['campaign', 'ad_group', 'ad'].includes(obj.level) ? (obj.level as Level) : null;
  const guards = obj.guards as { min_data?: unknown } | undefined;
  if (level && 'when' in obj) {
    checkCondition(obj.when, ['when'], { level, hasMinData: guards?.min_data !== undefined, out }, []);
    warnChildWithoutParents(obj.when, level, out);
  }

  const schedule = obj.schedule as { expression?: unknown; timezone?: unknown } | undefined;
  if (schedule && typeof schedule.expression === 'string') {
    try {
      parseSchedule(schedule.expression);
    } catch (error) {
      if (!(error instanceof ScheduleSyntaxError)) throw error;
      out.error('invalid_schedule', ['schedule', 'expression'], error.message);
    }
  }
  if (schedule && typeof schedule.timezone === 'string' && !isValidTimeZone(schedule.timezone)) {
    out.error('invalid_timezone', ['schedule', 'timezone'], `expected an IANA time zone such as America/New_York or Europe/Berlin, found "${schedule.timezone}"`);
  }
  checkAction(obj.then, level, { mode: obj.mode, cooldown: (obj.guards as { cooldown?: unknown } | undefined)?.cooldown }, out);
  const scope = obj.scope as { name_matches?: unknown; campaign_ids?: unknown } | undefined;
  if (scope && typeof scope.name_matches === 'string') {
    try {
      new RegExp(scope.name_matches);
    } catch (error) {
      out.error('invalid_regex', ['scope', 'name_matches'], `expected a regular expression, found "${scope.name_matches}" (${(error as Error).message})`);
    }
  }
  if (scope && scope.campaign_ids !== undefined && level === 'campaign') {
    out.error('invalid_scope', ['scope', 'campaign_ids'], 'campaign_ids narrows ad_group and ad rules; for campaign rules use scope.ids');
  }
  if (out.hasErrors) return { rule: null, issues: out.issues };
  const parsed = ruleSchema.safeParse(obj);
  if (!parsed.success) {
    out.zod(parsed.error.issues, obj);
    return { rule: null, issues: out.issues };
  }
  return { rule: parsed.data, issues: out.issues };
}

/** Key order and whitespace do not change a rule's version. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => k !== '$schema' && (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function ruleVersion(rule: Rule): string {
  return createHash('sha256').update(canonical(rule)).digest('hex').slice(0, 16);
}

function jsonSyntaxIssue(file: string, text: string): RuleIssue {
  const { offset, expected } = locateJsonError(text);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  const found = offset >= text.length ? 'the end of the file' : JSON.stringify(text[offset]);
  return { severity: 'error', code: 'json_syntax', file, ruleId: null, path: '', message: `not valid JSON at line ${line}, column ${column}: expected ${expected}, found ${found}` };
}

/** Where a JSON text stops being JSON, and what was expected there (JSON.parse does not say in every Node version). */
export function locateJsonError(text: string): { offset: number; expected: string } {
  let i = 0;
  const fail = (expected: string): never => {
    throw Object.assign(new Error('json'), { at: { offset: i, expected } });
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail('a value');
  };
  const string = (): void => {
    if (text[i] !== '"') fail('a string in double quotes');
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i += 1;
      else if ((text.charCodeAt(i) ?? 0) < 0x20) fail('a closing quote');
      i += 1;
    }
    if (i >= text.length) fail('a closing quote');
    i += 1;
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match || match[0] === '' || match[0] === '-') fail('a value');
    i += (match as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      ws();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail('":"');
        i += 1;
        value();
        ws();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] === '}') {
          i += 1;
          return;
        }
        fail('"," or "}"');
      }
    }
    if (c === '[') {
      i += 1;
      ws();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] === ']') {
          i += 1;
          return;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    if (i < text.length) fail('the end of the file');
  } catch (error) {
    const at = (error as { at?: { offset: number; expected: string } }).at;
    if (at) return at;
    throw error;
  }
  return { offset: text.length, expected: 'valid JSON' };
}

/** Validate one file's text: one rule or an array of rules. */
export function validateRuleText(text: string, file: string): { rules: LoadedRule[]; issues: RuleIssue[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { rules: [], issues: [jsonSyntaxIssue(file, text)] };
  }
  const items: { raw: unknown; index: number | null }[] = Array.isArray(json) ? (json as unknown[]).map((raw, index) => ({ raw, index })) : [{ raw: json, index: null }];
  if (Array.isArray(json) && json.length === 0) {
    return { rules: [], issues: [{ severity: 'error', code: 'empty_file', file, ruleId: null, path: '', message: 'expected a rule or a non-empty array of rules, found an empty array' }] };
  }
  const rules: LoadedRule[] = [];
  const issues: RuleIssue[] = [];
  for (const { raw, index } of items) {
    const result = validateRule(raw, file, index);
    issues.push(...result.issues);
    if (result.rule) rules.push({ rule: result.rule, file, index, version: ruleVersion(result.rule) });
  }
  return { rules, issues };
}

/** Checks across the set: duplicate ids, and references to rules that do not exist. */
export function validateRuleSet(loaded: readonly LoadedRule[], knownIds: ReadonlySet<string>): { rules: LoadedRule[]; issues: RuleIssue[] } {
  const issues: RuleIssue[] = [];
  const firstSeen = new Map<string, LoadedRule>();
  const rules: LoadedRule[] = [];
  const at = (r: LoadedRule, path: PathPart[]): string => renderPath([...(r.index === null ? [] : [r.index]), ...path]);
  for (const entry of loaded) {
    const previous = firstSeen.get(entry.rule.id);
    if (previous) {
      issues.push({ severity: 'error', code: 'duplicate_id', file: entry.file, ruleId: entry.rule.id, path: at(entry, ['id']), message: `duplicate rule id "${entry.rule.id}": also defined in ${previous.file}${previous.index === null ? '' : ` at [${previous.index}]`}; rule ids must be unique across files` });
      continue;
    }
    firstSeen.set(entry.rule.id, entry);
    rules.push(entry);
  }
  const valid: LoadedRule[] = [];
  for (const entry of rules) {
    const missing = (onlyIfPausedBy(entry.rule.then) ?? []).filter((id) => !knownIds.has(id));
    if (missing.length > 0) {
      issues.push({ severity: 'error', code: 'unknown_rule_reference', file: entry.file, ruleId: entry.rule.id, path: at(entry, ['then', 'only_if_paused_by']), message: `refers to rule${missing.length === 1 ? '' : 's'} ${missing.map((m) => `"${m}"`).join(', ')} that no rule file defines` });
      continue;
    }
    valid.push(entry);
  }
  return { rules: valid, issues };
}

/** Rule files under the given paths: files as given, directories searched for *.json (schema.json excluded). */
export function ruleFilesIn(paths: readonly string[], show: (path: string) => string = (p) => p): { files: string[]; issues: RuleIssue[] } {
  const files: string[] = [];
  const issues: RuleIssue[] = [];
  const visit = (path: string, explicit: boolean): void => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      issues.push({ severity: 'error', code: 'file_unreadable', file: show(path), ruleId: null, path: '', message: 'no such file or directory' });
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const child = join(path, name);
        if (name.startsWith('.') || name === 'node_modules') continue;
        if (statSync(child).isDirectory()) visit(child, false);
        else if (name.endsWith('.json') && name !== 'schema.json') visit(child, false);
      }
    } else if (explicit || path.endsWith('.json')) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path, true);
  return { files, issues };
}

/** A rule file's name and content (how rules travel inside the Lambda bundle). */
export interface RuleText {
  file: string;
  text: string;
}

/** Read the rule files under `paths` (relative names), with problems for what cannot be read. */
export function readRuleTexts(paths: readonly string[], cwd: string = process.cwd()): { texts: RuleText[]; issues: RuleIssue[] } {
  const { files, issues } = ruleFilesIn(paths, (p) => relative(cwd, p) || p);
  const texts: RuleText[] = [];
  for (const file of files) {
    const shown = relative(cwd, file) || file;
    try {
      texts.push({ file: shown, text: readFileSync(file, 'utf8') });
    } catch (error) {
      issues.push({ severity: 'error', code: 'file_unreadable', file: shown, ruleId: null, path: '', message: `cannot read: ${(error as Error).message}` });
    }
  }
  return { texts, issues };
}

/** Validate rule texts as one set. Valid rules load even when others have errors. */
export function loadRuleTexts(texts: readonly RuleText[], issues: RuleIssue[] = []): RuleSetLoad {
  const loaded: LoadedRule[] = [];
  const knownIds = new Set<string>();
  for (const { file, text } of texts) {
    const result = validateRuleText(text, file);
    issues.push(...result.issues);
    loaded.push(...result.rules);
    for (const id of idsIn(text)) knownIds.add(id);
  }
  const set = validateRuleSet(loaded, knownIds);
  issues.push(...set.issues);
  return { rules: set.rules, issues, files: texts.map((t) => t.file) };
}

/** Load and validate every rule under `paths`. Valid rules load even when others have errors. */
export function loadRules(paths: readonly string[], cwd: string = process.cwd()): RuleSetLoad {
  const { texts, issues } = readRuleTexts(paths, cwd);
  return loadRuleTexts(texts, issues);
}

/** Ids that appear in a file, valid or not (so a reference to a rule with an error is not also "unknown"). */
function idsIn(text: string): string[] {
  try {
    const json: unknown = JSON.parse(text);
    const items = Array.isArray(json) ? json : [json];
    return items.flatMap((item) => (item !== null && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string' ? [(item as { id: string }).id] : []));
  } catch {
    return [];
  }
}
