// The decision policy as tables: a pure function of (candidates, prior decisions, clock).
import { describe, expect, it } from 'vitest';
import { decide, type Candidate, type PolicyEntity, type PolicyRule, type PriorAction, type PriorDecisions } from '../../functions/rules/policy';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const HOUR = 3_600_000;

const ruleOf = (overrides: Partial<PolicyRule> = {}): PolicyRule => ({
  id: 'cpc-guard',
  action: 'pause',
  mode: 'live',
  priority: 10,
  cooldownMs: 0,
  maxActionsPerRun: undefined,
  onlyIfPausedBy: undefined,
  ...overrides,
});
const entityOf = (overrides: Partial<PolicyEntity> = {}): PolicyEntity => ({ id: 'c1', status: 'active', updatedAt: 1_795_000_000, level: 'campaign', ...overrides });
const candidate = (rule: Partial<PolicyRule> = {}, entity: Partial<PolicyEntity> = {}, verdict: Candidate['verdict'] = 'match'): Candidate => ({ rule: ruleOf(rule), entity: entityOf(entity), verdict });

function priorOf(actions: (PriorAction & { entityId: string })[] = []): PriorDecisions {
  return {
    lastAction: (ruleId, entityId, dryRun) =>
      actions.filter((a) => a.ruleId === ruleId && a.entityId === entityId && (dryRun || a.outcome === 'acted')).sort((a, b) => b.atMs - a.atMs)[0],
    lastStatusChange: (entityId) => actions.filter((a) => a.entityId === entityId && a.outcome === 'acted' && a.action !== 'notify').sort((a, b) => b.atMs - a.atMs)[0],
  };
}

const outcomes = (candidates: Candidate[], prior: PriorDecisions = priorOf()): string[] => decide(candidates, prior, NOW).map((d) => `${d.candidate.rule.id}/${d.candidate.entity.id}: ${d.outcome}`);

describe('decide', () => {
  it.each([
    ['a match in live mode acts', candidate(), 'act'],
    ['a match in dry_run would act', candidate({ mode: 'dry_run' }), 'would_act'],
    ['insufficient data never acts', candidate({}, {}, 'insufficient_data'), 'insufficient_data'],
    ['a pause of a paused entity', candidate({}, { status: 'paused' }), 'already_in_state'],
    ['an activate of an active entity', candidate({ action: 'activate' }, { status: 'active' }), 'already_in_state'],
    ['archive of an ad reads back as paused', candidate({ action: 'archive' }, { status: 'paused', level: 'ad' }), 'already_in_state'],
    ['a pause of an archived campaign', candidate({}, { status: 'archived' }), 'already_in_state'],
    ['notify never conflicts with state', candidate({ action: 'notify' }, { status: 'paused' }), 'act'],
  ] as const)('%s', (_name, c, expected) => {
    expect(decide([c], priorOf(), NOW)[0]?.outcome).toBe(expected);
  });

  describe('cooldown', () => {
    const acted = (atMs: number, outcome: 'acted' | 'would_act' = 'acted') => ({ ruleId: 'cpc-guard', entityId: 'c1', action: 'pause' as const, outcome, atMs, entityUpdatedAtAfter: null });
    it.each([
      [6 * HOUR, NOW - 5 * HOUR, 'skipped_cooldown'],
      [6 * HOUR, NOW - 6 * HOUR, 'act'],
      [Number.POSITIVE_INFINITY, NOW - 300 * 24 * HOUR, 'skipped_cooldown'],
      [0, NOW - 1, 'act'],
    ])('cooldown %d ms, last acted at %d → %s', (cooldownMs, at, expected) => {
      expect(decide([candidate({ cooldownMs })], priorOf([acted(at)]), NOW)[0]?.outcome).toBe(expected);
    });

    it('a dry-run rule cools down on its own would_act; a live one does not', () => {
      const prior = priorOf([acted(NOW - HOUR, 'would_act')]);
      expect(decide([candidate({ cooldownMs: 6 * HOUR, mode: 'dry_run' })], prior, NOW)[0]?.outcome).toBe('skipped_cooldown');
      expect(decide([candidate({ cooldownMs: 6 * HOUR })], prior, NOW)[0]?.outcome).toBe('act');
    });

    it('says until when', () => {
      expect(decide([candidate({ cooldownMs: 6 * HOUR })], priorOf([acted(NOW - 2 * HOUR)]), NOW)[0]?.reason).toBe('this rule acted on it at 2026-11-24T10:00:00.000Z; cooldown 6h lasts until 2026-11-24T16:00:00.000Z');
    });
  });

  describe('per-run cap', () => {
    it('over the cap, the rule acts on none and says why; other rules are unaffected', () => {
      const capped = ['c1', 'c2', 'c3'].map((id) => candidate({ id: 'ctr-floor', maxActionsPerRun: 2 }, { id }));
      const other = candidate({ id: 'budget-guard' }, { id: 'c4' });
      const decisions = decide([...capped, other], priorOf(), NOW);
      expect(decisions.map((d) => d.outcome)).toEqual(['skipped_cap', 'skipped_cap', 'skipped_cap', 'act']);
      expect(decisions[0]?.reason).toBe('3 entities would be acted on, over max_actions_per_run 2: this rule acts on none this run (check the rule, or raise the cap)');
    });

    it('counts only what would really act (not entities already in state or cooling down)', () => {
      const list = [candidate({ maxActionsPerRun: 1 }, { id: 'c1' }), candidate({ maxActionsPerRun: 1 }, { id: 'c2', status: 'paused' })];
      expect(outcomes(list)).toEqual(['cpc-guard/c1: act', 'cpc-guard/c2: already_in_state']);
    });

    it('a capped rule does not win conflicts', () => {
      const list = [
        candidate({ id: 'a-pause', maxActionsPerRun: 1, priority: 50 }, { id: 'c1' }),
        candidate({ id: 'a-pause', maxActionsPerRun: 1, priority: 50 }, { id: 'c2' }),
        candidate({ id: 'b-activate', action: 'activate', priority: 1 }, { id: 'c1', status: 'paused' }),
      ];
      expect(outcomes(list)).toEqual(['a-pause/c1: skipped_cap', 'a-pause/c2: skipped_cap', 'b-activate/c1: act']);
    });
  });

  describe('conflicts', () => {
    it.each([
      ['higher priority wins', [candidate({ id: 'pause', priority: 5 }, { status: 'paused' }), candidate({ id: 'activate', action: 'activate', priority: 9 }, { status: 'paused' })], ['pause/c1: already_in_state', 'activate/c1: act']],
      ['archive beats pause at equal priority (activating an active entity is already in state)', [candidate({ id: 'z-pause' }, { status: 'active' }), candidate({ id: 'a-archive', action: 'archive' }), candidate({ id: 'b-activate', action: 'activate' })], ['z-pause/c1: skipped_conflict', 'a-archive/c1: act', 'b-activate/c1: already_in_state']],
      ['pause loses to a higher-priority activate only when the entity can be activated', [candidate({ id: 'p', priority: 1 }, { status: 'paused' }), candidate({ id: 'q', action: 'activate', priority: 10 }, { status: 'paused' })], ['p/c1: already_in_state', 'q/c1: act']],
      ['two pauses: one call, by rule id', [candidate({ id: 'b-pause' }), candidate({ id: 'a-pause' })], ['b-pause/c1: skipped_conflict', 'a-pause/c1: act']],
      ['different entities do not conflict', [candidate({ id: 'a' }, { id: 'c1' }), candidate({ id: 'b' }, { id: 'c2' })], ['a/c1: act', 'b/c2: act']],
      ['notify rides along', [candidate({ id: 'a' }), candidate({ id: 'n', action: 'notify' })], ['a/c1: act', 'n/c1: act']],
    ] as const)('%s', (_name, list, expected) => {
      expect(outcomes([...list])).toEqual(expected);
    });

    it('archive wins over activate at equal priority on a paused entity, and says so', () => {
      const paused = [candidate({ id: 'activate-it', action: 'activate' }, { status: 'paused' }), candidate({ id: 'archive-it', action: 'archive' }, { status: 'paused' })];
      const decisions = decide(paused, priorOf(), NOW);
      expect(decisions.map((d) => d.outcome)).toEqual(['skipped_conflict', 'act']);
      expect(decisions[0]?.reason).toBe('rule archive-it (archive) takes this entity this run: archive wins over activate at equal priority');
    });

    it('a dry-run winner never blocks a live rule', () => {
      const list = [candidate({ id: 'dry-pause', mode: 'dry_run', priority: 99 }, { status: 'paused' }), candidate({ id: 'live-activate', action: 'activate' }, { status: 'paused' })];
      expect(outcomes(list)).toEqual(['dry-pause/c1: already_in_state', 'live-activate/c1: act']);
      const active = [candidate({ id: 'dry-archive', mode: 'dry_run', action: 'archive', priority: 99 }), candidate({ id: 'live-pause' })];
      expect(outcomes(active)).toEqual(['dry-archive/c1: would_act', 'live-pause/c1: act']);
      const lower = [candidate({ id: 'dry-archive', mode: 'dry_run', action: 'archive', priority: 1 }), candidate({ id: 'live-pause', priority: 5 })];
      expect(outcomes(lower)).toEqual(['dry-archive/c1: skipped_conflict', 'live-pause/c1: act']);
    });
  });

  describe('only_if_paused_by', () => {
    const resume = (entity: Partial<PolicyEntity> = {}) => candidate({ id: 'daypart-resume', action: 'activate', onlyIfPausedBy: ['daypart-pause'] }, { status: 'paused', updatedAt: 1_795_000_000, ...entity });
    const paused = { ruleId: 'daypart-pause', entityId: 'c1', action: 'pause' as const, outcome: 'acted' as const, atMs: NOW - 9 * HOUR, entityUpdatedAtAfter: 1_795_000_000 };

    it.each([
      ['paused by the named rule, untouched since', [paused], {}, 'act'],
      ['never paused by a rule (a human did)', [], {}, 'skipped_manual_override'],
      ['paused by another rule', [{ ...paused, ruleId: 'cpc-guard' }], {}, 'skipped_manual_override'],
      ['changed since the pause (a human edited or re-paused it)', [paused], { updatedAt: 1_795_000_900 }, 'skipped_manual_override'],
      ['last automated change was an activate', [paused, { ...paused, action: 'activate' as const, atMs: NOW - HOUR, ruleId: 'daypart-resume' }], {}, 'skipped_manual_override'],
      ['a dry-run pause does not count', [{ ...paused, outcome: 'would_act' as const }], {}, 'skipped_manual_override'],
    ])('%s → %s', (_name, actions, entity, expected) => {
      expect(decide([resume(entity)], priorOf(actions), NOW)[0]?.outcome).toBe(expected);
    });

    it('says who changed what', () => {
      const decision = decide([resume()], priorOf([{ ...paused, ruleId: 'cpc-guard' }]), NOW)[0];
      expect(decision?.reason).toBe('not paused by daypart-pause (the last automated change was pause by cpc-guard at 2026-11-24T03:00:00.000Z); a pause by someone else is left alone');
    });
  });
});
