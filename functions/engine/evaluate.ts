// The evaluate phase: every due rule against every entity of its level that is in its scope, on
// the facts of the read phase. Pure: what matched or lacked data becomes a candidate for the
// decide phase; non-matches are only counted; a rule missing any of its data is unavailable.
import { VERDICT_NAMES, type CompiledRule, type CompiledRuleSet, type EntityFacts } from '../rules/compile';
import { buildFacts, type EntityRecord, type WindowTotals } from '../rules/facts';
import type { Level } from '../thrad/wire';
import { windowReadKey, type ReadFailure, type ReadResult } from './reads';

export interface EvaluatedCandidate {
  rule: CompiledRule;
  entity: EntityRecord;
  facts: EntityFacts;
  verdict: 'match' | 'insufficient_data';
}

/** A rule that did not match one entity asked about (preview of one entity): why not. */
export interface FocusMiss {
  rule: CompiledRule;
  entity: EntityRecord;
  facts: EntityFacts;
  verdict: 'no_match' | 'out_of_scope';
}

export interface Evaluation {
  candidates: EvaluatedCandidate[];
  /** For the entity asked about (`focusEntityId`): the rules of its level that did not match it, or do not cover it. */
  misses: FocusMiss[];
  unavailable: { rule: CompiledRule; failure: ReadFailure }[];
  /** Per rule: evaluated, no_match, insufficient_data. */
  counts: Map<string, { evaluated: number; no_match: number; insufficient_data: number }>;
}

/** The first read a rule needs that failed, if any. */
export function missingData(rule: CompiledRule, reads: ReadResult): ReadFailure | undefined {
  const level = rule.rule.level;
  if (reads.levelFailures[level]) return reads.levelFailures[level];
  if (!reads.entities[level]) return { what: `the ${level} list`, code: 'unknown', message: 'not read' };
  for (const need of rule.needs.values()) {
    const read = reads.windows.get(windowReadKey(level, need.ref.key));
    if (!read) return { what: `insights for ${need.ref.name}`, code: 'unknown', message: 'not read' };
    if (read.failure) return read.failure;
  }
  return undefined;
}

function levelFacts(set: CompiledRuleSet, level: Level, entities: readonly EntityRecord[], reads: ReadResult): Map<string, EntityFacts> {
  const layout = set.layouts[level];
  const totals = new Map<string, Map<string, WindowTotals>>();
  const unknown = new Map<string, (entity: EntityRecord) => boolean>();
  for (const ref of layout.windows) {
    const read = reads.windows.get(windowReadKey(level, ref.key));
    if (read?.totals) totals.set(ref.key, read.totals);
    if (read?.unknown) unknown.set(ref.key, read.unknown.applies);
  }
  return new Map(entities.map((e) => [e.id, buildFacts(e, layout, totals, unknown)]));
}

export function evaluateRules(set: CompiledRuleSet, rules: readonly CompiledRule[], reads: ReadResult, nowMs: number, focusEntityId?: string): Evaluation {
  const evaluation: Evaluation = { candidates: [], misses: [], unavailable: [], counts: new Map() };
  const factsByLevel = new Map<Level, Map<string, EntityFacts>>();
  for (const rule of rules) {
    const failure = missingData(rule, reads);
    if (failure) {
      evaluation.unavailable.push({ rule, failure });
      continue;
    }
    const level = rule.rule.level;
    const entities = reads.entities[level] ?? [];
    let facts = factsByLevel.get(level);
    if (!facts) {
      facts = levelFacts(set, level, entities, reads);
      factsByLevel.set(level, facts);
    }
    const counts = { evaluated: 0, no_match: 0, insufficient_data: 0 };
    evaluation.counts.set(rule.id, counts);
    for (const entity of entities) {
      const f = facts.get(entity.id) as EntityFacts;
      const focused = entity.id === focusEntityId;
      if (!rule.inScope(f)) {
        if (focused) evaluation.misses.push({ rule, entity, facts: f, verdict: 'out_of_scope' });
        continue;
      }
      const verdict = VERDICT_NAMES[rule.evaluate(f, nowMs)];
      counts.evaluated += 1;
      if (verdict === 'no_match') {
        counts.no_match += 1;
        if (focused) evaluation.misses.push({ rule, entity, facts: f, verdict });
        continue;
      }
      if (verdict === 'insufficient_data') counts.insufficient_data += 1;
      evaluation.candidates.push({ rule, entity, facts: f, verdict });
    }
  }
  return evaluation;
}
