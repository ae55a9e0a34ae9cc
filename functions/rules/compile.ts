// The rule set compiled once into plain synchronous predicates. Facts for an entity are a few
// scalar fields and a Float64Array of base counts (impressions, clicks, spend in USD) per window;
// each leaf compiles to a closure that reads its slots and compares, with no allocation. The
// verdict is three-valued (Kleene logic): match, no_match, or insufficient_data when a metric is
// missing, a ratio's divisor is zero, or a minimum-data guard is not met. `explain` walks the same
// tree without short-circuiting and returns the explanation an audit record stores.
import { ACTIONS } from '../actions/registry';
import type { Level } from '../thrad/wire';
import { parseSchedule, schedulePeriodSeconds, type ParsedSchedule } from './schedule';
import type { CompareLeaf, Condition, FieldLeaf, MetricLeaf, Rule } from './schema';
import type { LoadedRule } from './validate';
import { BASE_COUNTS, METRIC_INFO, type BaseCount, type Field, type Metric, type WindowName } from './vocabulary';

export const NO_MATCH = 0;
export const MATCH = 1;
export const INSUFFICIENT = 2;
export type Verdict = typeof NO_MATCH | typeof MATCH | typeof INSUFFICIENT;
export const VERDICT_NAMES = ['no_match', 'match', 'insufficient_data'] as const;
export type VerdictName = (typeof VERDICT_NAMES)[number];

/** What the engine knows about one entity when rules are evaluated. */
export interface EntityFacts {
  level: Level;
  id: string;
  name: string;
  /** Lowercased name, for case-insensitive contains. */
  nameLower: string;
  status: string;
  reviewStatus: string | null;
  budgetUsd: number | null;
  /** Ad groups: the max bid in USD (null when none is set). */
  maxBidUsd: number | null;
  startTimeMs: number | null;
  endTimeMs: number | null;
  campaignId: string;
  /** Parents' status (ad group and ad rules). */
  campaignStatus: string | null;
  adGroupStatus: string | null;
  /** Base counts per window: [impressions, clicks, spend_usd] at the window's offset. */
  metrics: Float64Array;
}

/** A window in a time zone: the unit facts are read and stored by. */
export interface WindowRef {
  key: string;
  name: WindowName;
  timezone: string;
}

export const windowKey = (name: string, timezone: string): string => `${timezone}|${name}`;

/** Where each window's counts live in an entity's metrics array, per level. */
export class FactsLayout {
  readonly windows: WindowRef[] = [];
  private readonly offsets = new Map<string, number>();

  offsetOf(ref: WindowRef): number {
    let offset = this.offsets.get(ref.key);
    if (offset === undefined) {
      offset = this.windows.length * BASE_COUNTS.length;
      this.offsets.set(ref.key, offset);
      this.windows.push(ref);
    }
    return offset;
  }

  get size(): number {
    return this.windows.length * BASE_COUNTS.length;
  }

  slot(key: string, base: BaseCount): number | undefined {
    const offset = this.offsets.get(key);
    return offset === undefined ? undefined : offset + BASE_COUNTS.indexOf(base);
  }
}

export type ExplanationResult = VerdictName;

export type Explanation =
  | { kind: 'all' | 'any'; result: ExplanationResult; children: Explanation[] }
  | { kind: 'not'; result: ExplanationResult; child: Explanation }
  | {
      kind: 'metric';
      result: ExplanationResult;
      metric: Metric;
      window: string;
      op: string;
      threshold: number | number[];
      observed: number | null;
      /** Why the result is insufficient_data. */
      reason?: string;
    }
  | {
      kind: 'compare';
      result: ExplanationResult;
      metric: Metric;
      window: string;
      op: string;
      observed: number | null;
      compare_to: { metric: Metric; window: string; multiplier: number; observed: number | null };
      threshold: number | null;
      reason?: string;
    }
  | { kind: 'field'; result: ExplanationResult; field: Field; op: string; threshold: unknown; observed: unknown };

type Pred = (facts: EntityFacts, nowMs: number) => Verdict;
type Explain = (facts: EntityFacts, nowMs: number) => Explanation;
/** A metric value, or NaN when it cannot be known (zero divisor, minimum data not met). */
type Getter = (facts: EntityFacts) => number;

interface Node {
  pred: Pred;
  explain: Explain;
}

export interface CompiledRule {
  rule: Rule;
  id: string;
  version: string;
  file: string;
  schedule: ParsedSchedule;
  periodSeconds: number;
  /** Windows this rule reads, each with the base counts it needs. */
  needs: Map<string, { ref: WindowRef; bases: Set<BaseCount> }>;
  inScope(facts: EntityFacts): boolean;
  evaluate(facts: EntityFacts, nowMs: number): Verdict;
  explain(facts: EntityFacts, nowMs: number): Explanation;
}

export interface CompiledRuleSet {
  rules: CompiledRule[];
  byId: Map<string, CompiledRule>;
  layouts: Record<Level, FactsLayout>;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `6h` → ms; `forever` → Infinity; undefined → 0. */
export function durationMs(text: string | undefined): number {
  if (text === undefined) return 0;
  if (text === 'forever') return Number.POSITIVE_INFINITY;
  const match = /^(\d+)([mhd])$/.exec(text);
  if (!match) throw new RangeError(`Not a duration: ${text}`);
  return Number(match[1]) * (UNIT_MS[match[2]]);
}

/** A time value of a field leaf at `nowMs`: ISO 8601 or now / now±N(m|h|d). */
export function timeValueMs(value: string, nowMs: number): number {
  const relative = /^now(?:([+-])(\d+)([mhd]))?$/.exec(value);
  if (relative) {
    if (relative[1] === undefined) return nowMs;
    const delta = Number(relative[2]) * (UNIT_MS[relative[3]]);
    return relative[1] === '+' ? nowMs + delta : nowMs - delta;
  }
  return Date.parse(value);
}

const verdictName = (v: Verdict): VerdictName => VERDICT_NAMES[v];

function kleeneAll(children: readonly Pred[]): Pred {
  if (children.length === 1) return children[0];
  if (children.length === 2) {
    const [a, b] = children as [Pred, Pred];
    return (f, now) => {
      const x = a(f, now);
      if (x === NO_MATCH) return NO_MATCH;
      const y = b(f, now);
      if (y === NO_MATCH) return NO_MATCH;
      return x === INSUFFICIENT || y === INSUFFICIENT ? INSUFFICIENT : MATCH;
    };
  }
  return (f, now) => {
    let insufficient = false;
    for (let i = 0; i < children.length; i += 1) {
      const v = (children[i])(f, now);
      if (v === NO_MATCH) return NO_MATCH;
      if (v === INSUFFICIENT) insufficient = true;
    }
    return insufficient ? INSUFFICIENT : MATCH;
  };
}

function kleeneAny(children: readonly Pred[]): Pred {
  if (children.length === 1) return children[0];
  return (f, now) => {
    let insufficient = false;
    for (let i = 0; i < children.length; i += 1) {
      const v = (children[i])(f, now);
      if (v === MATCH) return MATCH;
      if (v === INSUFFICIENT) insufficient = true;
    }
    return insufficient ? INSUFFICIENT : NO_MATCH;
  };
}

function combine(kind: 'all' | 'any', results: readonly Verdict[]): Verdict {
  if (kind === 'all') {
    if (results.includes(NO_MATCH)) return NO_MATCH;
    return results.includes(INSUFFICIENT) ? INSUFFICIENT : MATCH;
  }
  if (results.includes(MATCH)) return MATCH;
  return results.includes(INSUFFICIENT) ? INSUFFICIENT : NO_MATCH;
}

/** A numeric comparison, specialised per op so evaluation is one closure call. */
function comparator(op: string, value: unknown): (x: number) => boolean {
  switch (op) {
    case 'gt': {
      const v = value as number;
      return (x) => x > v;
    }
    case 'gte': {
      const v = value as number;
      return (x) => x >= v;
    }
    case 'lt': {
      const v = value as number;
      return (x) => x < v;
    }
    case 'lte': {
      const v = value as number;
      return (x) => x <= v;
    }
    case 'eq': {
      const v = value as number;
      return (x) => x === v;
    }
    case 'neq': {
      const v = value as number;
      return (x) => x !== v;
    }
    case 'between': {
      const [lo, hi] = value as [number, number];
      return (x) => x >= lo && x <= hi;
    }
    case 'in': {
      const set = new Set(value as number[]);
      return (x) => set.has(x);
    }
    case 'not_in': {
      const set = new Set(value as number[]);
      return (x) => !set.has(x);
    }
    default:
      throw new RangeError(`op ${op} is not numeric`);
  }
}

class RuleCompiler {
  readonly needs = new Map<string, { ref: WindowRef; bases: Set<BaseCount> }>();

  constructor(
    private readonly rule: Rule,
    private readonly layout: FactsLayout,
  ) {}

  private ref(window: string | undefined, metric: Metric): WindowRef {
    const name = (METRIC_INFO[metric].onlyWindow ?? window) as WindowName;
    const timezone = this.rule.schedule.timezone;
    return { key: windowKey(name, timezone), name, timezone };
  }

  private need(ref: WindowRef, bases: readonly BaseCount[]): number {
    let entry = this.needs.get(ref.key);
    if (!entry) {
      entry = { ref, bases: new Set() };
      this.needs.set(ref.key, entry);
    }
    for (const b of bases) entry.bases.add(b);
    return this.layout.offsetOf(ref);
  }

  /** The lifetime spend of the rule's entities, for its action (not its condition). */
  needLifetimeSpend(): void {
    this.need(this.ref('lifetime', 'spend'), ['spend']);
  }

  /** Why a getter gave NaN, for the explanation. */
  private getter(metric: Metric, window: string | undefined): { get: Getter; ref: WindowRef; why: (f: EntityFacts) => string } {
    const ref = this.ref(window, metric);
    const minData = this.rule.guards.min_data;
    const info = METRIC_INFO[metric];
    const guardBases: BaseCount[] = info.ratio && minData ? BASE_COUNTS.filter((b) => minData[b] !== undefined) : [];
    const offset = this.need(ref, [...info.needs, ...guardBases]);
    const iImp = offset;
    const iClk = offset + 1;
    const iSpend = offset + 2;
    const minImp = info.ratio ? (minData?.impressions ?? 0) : 0;
    const minClk = info.ratio ? (minData?.clicks ?? 0) : 0;
    const minSpend = info.ratio ? (minData?.spend ?? 0) : 0;
    const guarded = minImp > 0 || minClk > 0 || minSpend > 0;
    const enough = (m: Float64Array): boolean => m[iImp] >= minImp && m[iClk] >= minClk && m[iSpend] >= minSpend;
    // scale × numerator / denominator; NaN (unknown) on a zero denominator or, with min_data, too little data.
    const ratio = (iNum: number, iDen: number, scale: number): Getter =>
      guarded
        ? (f) => {
            const m = f.metrics;
            const den = m[iDen];
            return den > 0 && enough(m) ? (m[iNum] / den) * scale : NaN;
          }
        : (f) => {
            const den = f.metrics[iDen];
            return den > 0 ? (f.metrics[iNum] / den) * scale : NaN;
          };
    // The metric's one definition (vocabulary.ts), compiled to slot reads.
    const slotOf = (base: BaseCount): number => offset + BASE_COUNTS.indexOf(base);
    const formula = info.formula;
    const get: Getter =
      formula.kind === 'count'
        ? ((i: number): Getter => (f) => f.metrics[i])(slotOf(formula.base))
        : formula.kind === 'ratio'
          ? ratio(slotOf(formula.numerator), slotOf(formula.denominator), formula.scale)
          : (f) => (f.budgetUsd !== null && f.budgetUsd > 0 ? f.metrics[iSpend] / f.budgetUsd : NaN);
    const why = (f: EntityFacts): string => {
      const m = f.metrics;
      if (Number.isNaN(m[iImp]) || Number.isNaN(m[iSpend])) return `${ref.name} says nothing about it yet (the window's note says why): unknown, not 0`;
      if (metric === 'budget_spent_fraction') return 'no lifetime budget to divide by';
      const divisor = formula.kind === 'ratio' ? formula.denominator : 'impressions';
      const divisorValue = m[slotOf(divisor)];
      if (divisorValue === 0) return `no ${divisor} in ${ref.name}: ${metric} is undefined`;
      const short: string[] = [];
      if (m[iImp] < minImp) short.push(`${m[iImp]} impressions < ${minImp}`);
      if (m[iClk] < minClk) short.push(`${m[iClk]} clicks < ${minClk}`);
      if (m[iSpend] < minSpend) short.push(`$${m[iSpend].toFixed(2)} spend < $${minSpend}`);
      return `minimum data not met in ${ref.name}: ${short.join(', ')}`;
    };
    return { get, ref, why };
  }

  compile(node: Condition): Node {
    if ('all' in node || 'any' in node) {
      const kind = 'all' in node ? 'all' : 'any';
      const children = ('all' in node ? node.all : node.any).map((child) => this.compile(child));
      const preds = children.map((c) => c.pred);
      return {
        pred: kind === 'all' ? kleeneAll(preds) : kleeneAny(preds),
        explain: (f, now) => {
          const explained = children.map((c) => c.explain(f, now));
          const result = combine(kind, explained.map((e) => VERDICT_NAMES.indexOf(e.result) as Verdict));
          return { kind, result: verdictName(result), children: explained };
        },
      };
    }
    if ('not' in node) {
      const child = this.compile(node.not);
      return {
        pred: (f, now) => {
          const v = child.pred(f, now);
          return v === MATCH ? NO_MATCH : v === NO_MATCH ? MATCH : INSUFFICIENT;
        },
        explain: (f, now) => {
          const inner = child.explain(f, now);
          const result = inner.result === 'match' ? 'no_match' : inner.result === 'no_match' ? 'match' : 'insufficient_data';
          return { kind: 'not', result, child: inner };
        },
      };
    }
    if ('compare_to' in node) return this.compileCompare(node);
    if ('metric' in node) return this.compileMetric(node);
    return this.compileField(node);
  }

  private compileMetric(leaf: MetricLeaf): Node {
    const { get, ref, why } = this.getter(leaf.metric, leaf.window);
    const test = comparator(leaf.op, leaf.value);
    return {
      pred: (f) => {
        const x = get(f);
        if (x !== x) return INSUFFICIENT;
        return test(x) ? MATCH : NO_MATCH;
      },
      explain: (f) => {
        const x = get(f);
        const known = !Number.isNaN(x);
        return {
          kind: 'metric',
          result: known ? (test(x) ? 'match' : 'no_match') : 'insufficient_data',
          metric: leaf.metric,
          window: ref.name,
          op: leaf.op,
          threshold: leaf.value as number | number[],
          observed: known ? x : null,
          ...(known ? {} : { reason: why(f) }),
        };
      },
    };
  }

  private compileCompare(leaf: CompareLeaf): Node {
    const left = this.getter(leaf.metric, leaf.window);
    const right = this.getter(leaf.compare_to.metric, leaf.compare_to.window);
    const k = leaf.compare_to.multiplier;
    let test: (a: number, b: number) => boolean;
    switch (leaf.op) {
      case 'gt':
        test = (a, b) => a > b;
        break;
      case 'gte':
        test = (a, b) => a >= b;
        break;
      case 'lt':
        test = (a, b) => a < b;
        break;
      case 'lte':
        test = (a, b) => a <= b;
        break;
      case 'eq':
        test = (a, b) => a === b;
        break;
      case 'neq':
        test = (a, b) => a !== b;
        break;
    }
    const lget = left.get;
    const rget = right.get;
    return {
      pred: (f) => {
        const a = lget(f);
        const b = rget(f);
        if (a !== a || b !== b) return INSUFFICIENT;
        return test(a, b * k) ? MATCH : NO_MATCH;
      },
      explain: (f) => {
        const a = lget(f);
        const b = rget(f);
        const known = !Number.isNaN(a) && !Number.isNaN(b);
        const reason = Number.isNaN(a) ? left.why(f) : Number.isNaN(b) ? right.why(f) : undefined;
        return {
          kind: 'compare',
          result: known ? (test(a, b * k) ? 'match' : 'no_match') : 'insufficient_data',
          metric: leaf.metric,
          window: left.ref.name,
          op: leaf.op,
          observed: Number.isNaN(a) ? null : a,
          compare_to: { metric: leaf.compare_to.metric, window: right.ref.name, multiplier: k, observed: Number.isNaN(b) ? null : b },
          threshold: Number.isNaN(b) ? null : b * k,
          ...(reason === undefined ? {} : { reason }),
        };
      },
    };
  }

  private compileField(leaf: FieldLeaf): Node {
    const observe = fieldGetter(leaf.field);
    let test: (observed: unknown, now: number) => boolean;
    const value = leaf.value;
    switch (leaf.field) {
      case 'status':
      case 'review_status':
      case 'campaign_status':
      case 'ad_group_status': {
        const values = new Set(Array.isArray(value) ? (value as string[]) : [value as string]);
        const single = value as string;
        test = leaf.op === 'eq' ? (o) => o === single : leaf.op === 'neq' ? (o) => o !== single : leaf.op === 'in' ? (o) => values.has(o as string) : (o) => !values.has(o as string);
        break;
      }
      case 'name': {
        if (leaf.op === 'contains') {
          const needle = (value as string).toLowerCase();
          return {
            pred: (f) => (f.nameLower.includes(needle) ? MATCH : NO_MATCH),
            explain: (f) => ({ kind: 'field', result: f.nameLower.includes(needle) ? 'match' : 'no_match', field: 'name', op: 'contains', threshold: value, observed: f.name }),
          };
        }
        const values = new Set(Array.isArray(value) ? (value as string[]) : [value as string]);
        test = leaf.op === 'eq' ? (o) => o === value : leaf.op === 'neq' ? (o) => o !== value : leaf.op === 'in' ? (o) => values.has(o as string) : (o) => !values.has(o as string);
        break;
      }
      case 'lifetime_budget_usd':
      case 'max_bid_usd': {
        const cmp = comparator(leaf.op, value);
        test = (o) => o !== null && cmp(o as number);
        break;
      }
      case 'start_time':
      case 'end_time': {
        if (value === null) {
          test = leaf.op === 'eq' ? (o) => o === null : (o) => o !== null;
          break;
        }
        const op = leaf.op;
        const bounds = (Array.isArray(value) ? value : [value]) as string[];
        test = (o, now) => {
          if (o === null) return op === 'neq';
          const x = o as number;
          const [a, b] = bounds.map((v) => timeValueMs(v, now)) as [number, number];
          switch (op) {
            case 'gt':
              return x > a;
            case 'gte':
              return x >= a;
            case 'lt':
              return x < a;
            case 'lte':
              return x <= a;
            case 'eq':
              return x === a;
            case 'neq':
              return x !== a;
            case 'between':
              return x >= a && x <= b;
            default:
              return false;
          }
        };
        break;
      }
    }
    return {
      pred: (f, now) => (test(observe(f), now) ? MATCH : NO_MATCH),
      explain: (f, now) => {
        const observed = observe(f);
        const shown = (leaf.field === 'start_time' || leaf.field === 'end_time') && typeof observed === 'number' ? new Date(observed).toISOString() : observed;
        return { kind: 'field', result: test(observed, now) ? 'match' : 'no_match', field: leaf.field, op: leaf.op, threshold: value, observed: shown };
      },
    };
  }
}

function fieldGetter(field: Field): (f: EntityFacts) => unknown {
  switch (field) {
    case 'status':
      return (f) => f.status;
    case 'review_status':
      return (f) => f.reviewStatus;
    case 'name':
      return (f) => f.name;
    case 'lifetime_budget_usd':
      return (f) => f.budgetUsd;
    case 'max_bid_usd':
      return (f) => f.maxBidUsd;
    case 'start_time':
      return (f) => f.startTimeMs;
    case 'end_time':
      return (f) => f.endTimeMs;
    case 'campaign_status':
      return (f) => f.campaignStatus;
    case 'ad_group_status':
      return (f) => f.adGroupStatus;
  }
}

function compileScope(rule: Rule): (f: EntityFacts) => boolean {
  const scope = rule.scope;
  if (!scope) return () => true;
  const ids = scope.ids ? new Set(scope.ids) : null;
  const excluded = scope.exclude_ids ? new Set(scope.exclude_ids) : null;
  const contains = scope.name_contains?.toLowerCase();
  const pattern = scope.name_matches !== undefined ? new RegExp(scope.name_matches) : null;
  const campaigns = scope.campaign_ids ? new Set(scope.campaign_ids) : null;
  return (f) =>
    (ids === null || ids.has(f.id)) &&
    (excluded === null || !excluded.has(f.id)) &&
    (contains === undefined || f.nameLower.includes(contains)) &&
    (pattern === null || pattern.test(f.name)) &&
    (campaigns === null || campaigns.has(f.campaignId));
}

/** Compile validated rules once; the result is reused across cycles of a warm process. */
export function compileRuleSet(loaded: readonly LoadedRule[]): CompiledRuleSet {
  const layouts: Record<Level, FactsLayout> = { campaign: new FactsLayout(), ad_group: new FactsLayout(), ad: new FactsLayout() };
  const rules: CompiledRule[] = loaded.map(({ rule, version, file }) => {
    const compiler = new RuleCompiler(rule, layouts[rule.level]);
    const root = compiler.compile(rule.when);
    // An action that must know lifetime spend (a budget never set below it) reads it too.
    if (ACTIONS[rule.then.action].needsLifetimeSpend) compiler.needLifetimeSpend();
    const schedule = parseSchedule(rule.schedule.expression);
    const inScope = compileScope(rule);
    return {
      rule,
      id: rule.id,
      version,
      file,
      schedule,
      periodSeconds: schedulePeriodSeconds(schedule, rule.schedule.timezone),
      needs: compiler.needs,
      inScope,
      evaluate: root.pred,
      explain: root.explain,
    };
  });
  return { rules, byId: new Map(rules.map((r) => [r.id, r])), layouts };
}

/** Observed values of an explanation, flattened: `cpc@last_3_days` → 3.1, `status` → "active". */
export function observedValues(explanation: Explanation, into: Record<string, unknown> = {}): Record<string, unknown> {
  switch (explanation.kind) {
    case 'all':
    case 'any':
      for (const child of explanation.children) observedValues(child, into);
      break;
    case 'not':
      observedValues(explanation.child, into);
      break;
    case 'metric':
      into[`${explanation.metric}@${explanation.window}`] = explanation.observed;
      break;
    case 'compare':
      into[`${explanation.metric}@${explanation.window}`] = explanation.observed;
      into[`${explanation.compare_to.metric}@${explanation.compare_to.window}`] = explanation.compare_to.observed;
      break;
    case 'field':
      into[explanation.field] = explanation.observed;
      break;
  }
  return into;
}
