// The decision policy as tables: a pure function of (candidates with their holders and prior
// actions, clock).
import { describe, expect, it } from 'vitest';
import type { EntitySnapshot } from '../../functions/actions/types';
import type { ThenParams } from '../../functions/actions/registry';
import type { Holder } from '../../functions/audit/records';
import { decide, type Candidate, type PolicyRule, type PriorAction } from '../../functions/rules/policy';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const HOUR = 3_600_000;

type RuleOverrides = Partial<Omit<PolicyRule, 'then'>> & { action?: ThenParams['action']; onlyIfPausedBy?: readonly string[] };

const ruleOf = ({ action = 'pause', onlyIfPausedBy, ...overrides }: RuleOverrides = {}): PolicyRule => ({
  id: 'cpc-guard',
  then: (action === 'activate' ? { action, only_if_paused_by: onlyIfPausedBy ? [...onlyIfPausedBy] : undefined } : { action }),
  mode: 'live',
  priority: 10,
  cooldownMs: 0,
  maxActionsPerRun: undefined,
  ...overrides,
});
const entityOf = (overrides: Partial<EntitySnapshot> = {}): EntitySnapshot => ({ level: 'campaign', id: 'c1', status: 'active', reviewStatus: 'approved', updatedAt: 1_795_000_000, createdAt: 1_794_000_000, ...overrides });
const creation: Holder = { kind: 'creation' };
const heldBy = (rule_id: string, priority: number, intent: string = 'paused', by: 'change' | 'assertion' | 'release' = 'change'): Holder => ({ kind: 'rule', rule_id, priority, intent, by, decision_id: 'd_x', at_ms: NOW - 9 * HOUR });
const person: Holder = { kind: 'person', at_ms: NOW - HOUR, detail: 'its status went from active to paused without the autopilot' };
const unknown: Holder = { kind: 'unknown', detail: 'it was changed before the autopilot first saw it' };

const candidate = (rule: RuleOverrides = {}, entity: Partial<EntitySnapshot> = {}, extra: { verdict?: Candidate['verdict']; holder?: Holder; previous?: PriorAction } = {}): Candidate => ({
  rule: ruleOf(rule),
  entity: entityOf(entity),
  verdict: extra.verdict ?? 'match',
  holder: extra.holder ?? creation,
  previous: extra.previous,
});

const outcomes = (candidates: Candidate[]): string[] => decide(candidates, NOW).map((d) => `${d.candidate.rule.id}/${d.candidate.entity.id}: ${d.outcome}`);

describe('decide', () => {
  it.each([
    ['a match in live mode acts', candidate(), 'act'],
    ['a match in dry_run would act', candidate({ mode: 'dry_run' }), 'would_act'],
    ['insufficient data never acts', candidate({}, {}, { verdict: 'insufficient_data' }), 'insufficient_data'],
    ['a pause of a paused entity', candidate({}, { status: 'paused' }), 'already_in_state'],
    ['an activate of an active entity', candidate({ action: 'activate' }, { status: 'active' }), 'already_in_state'],
    ['a pause of an archived campaign', candidate({}, { status: 'archived' }), 'already_in_state'],
    ['notify never conflicts with state', candidate({ action: 'notify' }, { status: 'paused' }), 'act'],
    ['Thrad activates only approved campaigns', candidate({ action: 'activate' }, { status: 'paused', reviewStatus: 'in_review' }), 'skipped_not_approved'],
  ] as const)('%s', (_name, c, expected) => {
    expect(decide([c], NOW)[0]?.outcome).toBe(expected);
  });

  it('acts with the target computed once, as read back', () => {
    expect(decide([candidate({}, { level: 'ad_group', status: 'active', reviewStatus: null })], NOW)[0]?.target).toBe('paused');
    expect(decide([candidate({ action: 'activate' }, { status: 'paused' })], NOW)[0]?.target).toBe('active');
  });

  describe('cooldown', () => {
    const acted = (atMs: number, outcome: 'acted' | 'would_act' = 'acted'): PriorAction => ({ ruleId: 'cpc-guard', action: 'pause', outcome, atMs });
    it.each([
      [6 * HOUR, NOW - 5 * HOUR, 'skipped_cooldown'],
      [6 * HOUR, NOW - 6 * HOUR, 'act'],
      [Number.POSITIVE_INFINITY, NOW - 300 * 24 * HOUR, 'skipped_cooldown'],
      [0, NOW - 1, 'act'],
    ])('cooldown %d ms, last acted at %d → %s', (cooldownMs, at, expected) => {
      expect(decide([candidate({ cooldownMs }, {}, { previous: acted(at) })], NOW)[0]?.outcome).toBe(expected);
    });

    it('says until when', () => {
      expect(decide([candidate({ cooldownMs: 6 * HOUR }, {}, { previous: acted(NOW - 2 * HOUR) })], NOW)[0]?.reason).toBe('this rule acted on it at 2026-11-24T10:00:00.000Z; cooldown 6h lasts until 2026-11-24T16:00:00.000Z');
    });
  });

  describe('per-run cap', () => {
    it('over the cap, the rule acts on none and says why; other rules are unaffected', () => {
      const capped = ['c1', 'c2', 'c3'].map((id) => candidate({ id: 'ctr-floor', maxActionsPerRun: 2 }, { id }));
      const other = candidate({ id: 'budget-guard' }, { id: 'c4' });
      const decisions = decide([...capped, other], NOW);
      expect(decisions.map((d) => d.outcome)).toEqual(['skipped_cap', 'skipped_cap', 'skipped_cap', 'act']);
      expect(decisions[0]?.reason).toBe('3 entities would be acted on after conflicts, over max_actions_per_run 2: this rule acts on none this run (check the rule, or raise the cap)');
    });

    it('counts only what would really act (not entities already in state or cooling down)', () => {
      const list = [candidate({ maxActionsPerRun: 1 }, { id: 'c1' }), candidate({ maxActionsPerRun: 1 }, { id: 'c2', status: 'paused' })];
      expect(outcomes(list)).toEqual(['cpc-guard/c1: act', 'cpc-guard/c2: already_in_state']);
    });

    it('counts only what the rule takes after conflicts: entities another rule takes are not counted (case 8)', () => {
      const a = ['c1', 'c2', 'c3', 'c4'].map((id) => candidate({ id: 'rule-a', priority: 20 }, { id }));
      const b = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((id) => candidate({ id: 'rule-b', priority: 10, maxActionsPerRun: 5 }, { id }));
      const decided = outcomes([...a, ...b]);
      expect(decided.filter((d) => d.startsWith('rule-b/') && d.endsWith(': act'))).toEqual(['rule-b/c5: act', 'rule-b/c6: act']);
      expect(decided.filter((d) => d.startsWith('rule-b/') && d.endsWith('skipped_conflict'))).toHaveLength(4);
    });

    it('what a capped rule would have taken goes to the next rule', () => {
      const list = [
        candidate({ id: 'a-pause', maxActionsPerRun: 1, priority: 50 }, { id: 'c1' }),
        candidate({ id: 'a-pause', maxActionsPerRun: 1, priority: 50 }, { id: 'c2' }),
        candidate({ id: 'b-pause', priority: 1 }, { id: 'c1' }),
      ];
      expect(outcomes(list)).toEqual(['a-pause/c1: skipped_cap', 'a-pause/c2: skipped_cap', 'b-pause/c1: act']);
    });
  });

  describe('conflicts in one run', () => {
    it.each([
      ['archive beats pause at equal priority', [candidate({ id: 'z-pause' }), candidate({ id: 'a-archive', action: 'archive' })], ['z-pause/c1: skipped_conflict', 'a-archive/c1: act']],
      ['two pauses: one call, by rule id', [candidate({ id: 'b-pause' }), candidate({ id: 'a-pause' })], ['b-pause/c1: skipped_conflict', 'a-pause/c1: act']],
      ['different entities do not conflict', [candidate({ id: 'a' }, { id: 'c1' }), candidate({ id: 'b' }, { id: 'c2' })], ['a/c1: act', 'b/c2: act']],
      ['notify rides along', [candidate({ id: 'a' }), candidate({ id: 'n', action: 'notify' })], ['a/c1: act', 'n/c1: act']],
    ] as const)('%s', (_name, list, expected) => {
      expect(outcomes([...list])).toEqual(expected);
    });

    it('archive wins over activate at equal priority on a paused entity, and says so', () => {
      const paused = [candidate({ id: 'activate-it', action: 'activate' }, { status: 'paused' }), candidate({ id: 'archive-it', action: 'archive' }, { status: 'paused' })];
      const decisions = decide(paused, NOW);
      expect(decisions.map((d) => d.outcome)).toEqual(['skipped_conflict', 'act']);
      expect(decisions[0]?.reason).toBe('rule archive-it (archive) takes this entity this run: archive wins over activate at equal priority');
    });

    it('a dry-run winner never blocks a live rule', () => {
      const active = [candidate({ id: 'dry-archive', mode: 'dry_run', action: 'archive', priority: 99 }), candidate({ id: 'live-pause' })];
      expect(outcomes(active)).toEqual(['dry-archive/c1: would_act', 'live-pause/c1: act']);
      const lower = [candidate({ id: 'dry-archive', mode: 'dry_run', action: 'archive', priority: 1 }), candidate({ id: 'live-pause', priority: 5 })];
      expect(outcomes(lower)).toEqual(['dry-archive/c1: skipped_conflict', 'live-pause/c1: act']);
    });
  });

  describe('starting spend needs the right to; stopping spend never does', () => {
    const activate = (holder: Holder, rule: RuleOverrides = {}) => candidate({ id: 'reactivate', action: 'activate', priority: 5, ...rule }, { status: 'paused' }, { holder });

    it.each([
      ['unchanged since creation: a launch', creation, {}, 'act'],
      ['a person paused it', person, {}, 'skipped_manual_override'],
      ['nobody can tell who paused it', unknown, {}, 'skipped_manual_override'],
      ['held paused by a higher-priority rule (case 1)', heldBy('budget-guard', 20), {}, 'skipped_conflict'],
      ['held paused by an equal-priority rule', heldBy('other', 5), {}, 'skipped_conflict'],
      ['held paused by a lower-priority rule', heldBy('low', 1), {}, 'act'],
      ['held paused by a higher-priority rule it names', heldBy('daypart-pause', 10), { onlyIfPausedBy: ['daypart-pause'] }, 'act'],
      ['only_if_paused_by: paused by another rule', heldBy('cpc-guard', 1), { onlyIfPausedBy: ['daypart-pause'] }, 'skipped_conflict'],
      ['only_if_paused_by: unchanged since creation', creation, { onlyIfPausedBy: ['daypart-pause'] }, 'skipped_manual_override'],
      ['only_if_paused_by: a person paused it', person, { onlyIfPausedBy: ['daypart-pause'] }, 'skipped_manual_override'],
      ['a hold released by a resume rule', heldBy('daypart-resume', 5, 'active', 'release'), {}, 'act'],
      ['dry-run rules are judged the same way', heldBy('budget-guard', 20), { mode: 'dry_run' }, 'skipped_conflict'],
    ] as const)('%s → %s', (_name, holder, rule, expected) => {
      expect(decide([activate(holder, rule)], NOW)[0]?.outcome).toBe(expected);
    });

    it.each([['a person', person], ['nobody knows', unknown], ['a higher-priority rule', heldBy('budget-guard', 99)]] as const)('a pause is allowed whoever holds the entity (%s)', (_name, holder) => {
      expect(decide([candidate({}, {}, { holder })], NOW)[0]?.outcome).toBe('act');
    });

    it('names the holder', () => {
      const decision = decide([activate(heldBy('budget-guard', 20))], NOW)[0];
      expect(decision?.reason).toBe('held paused by budget-guard (priority 20) since 2026-11-24T03:00:00.000Z: priority 20 ≥ 5, and this rule does not name it in only_if_paused_by');
      expect(decision?.holder).toMatchObject({ kind: 'rule', rule_id: 'budget-guard' });
    });
  });

  describe('holds taken without a call', () => {
    it('a live pause rule matching a paused, never-changed entity holds it: a lower-priority launch the same run is refused (case 3A)', () => {
      const list = [candidate({ id: 'daypart-pause', priority: 10 }, { status: 'paused' }), candidate({ id: 'activate-approved', action: 'activate', priority: 5 }, { status: 'paused' })];
      const decisions = decide(list, NOW);
      expect(decisions.map((d) => d.outcome)).toEqual(['already_in_state', 'skipped_conflict']);
      expect(decisions[0]?.takesHold).toMatchObject({ kind: 'rule', rule_id: 'daypart-pause', intent: 'paused', by: 'assertion' });
    });

    it.each([
      ['a person', person],
      ['nobody knows', unknown],
      ['a higher-priority rule', heldBy('budget-guard', 20)],
    ] as const)('never over %s', (_name, holder) => {
      expect(decide([candidate({ id: 'daypart-pause' }, { status: 'paused' }, { holder })], NOW)[0]?.takesHold).toBeUndefined();
    });

    it('a dry-run rule takes no hold', () => {
      expect(decide([candidate({ mode: 'dry_run' }, { status: 'paused' })], NOW)[0]?.takesHold).toBeUndefined();
    });

    it('a resume rule that cannot activate (not approved) ends the hold of the rule it names', () => {
      const decision = decide([candidate({ id: 'daypart-resume', action: 'activate', onlyIfPausedBy: ['daypart-pause'] }, { status: 'paused', reviewStatus: 'in_review' }, { holder: heldBy('daypart-pause', 10) })], NOW)[0];
      expect(decision?.outcome).toBe('skipped_not_approved');
      expect(decision?.takesHold).toMatchObject({ kind: 'rule', rule_id: 'daypart-resume', intent: 'active', by: 'release' });
    });
  });
});

describe('money actions', () => {
  const budget = (id: string, then: Omit<Extract<ThenParams, { action: 'change_budget' }>, 'action'>, priority = 10, extra: Partial<PolicyRule> = {}): PolicyRule => ({ id, then: { action: 'change_budget', ...then }, mode: 'live', priority, cooldownMs: 0, maxActionsPerRun: undefined, ...extra });
  const withBudget = (micros: number, overrides: Partial<EntitySnapshot> = {}): EntitySnapshot => entityOf({ budgetMicros: micros, ...overrides });
  const of = (rule: PolicyRule, entity: EntitySnapshot = withBudget(100_000_000), holder: Holder = creation, context = { maxChangeFraction: 0.5, spentMicros: 10_000_000 }): Candidate => ({ rule, entity, verdict: 'match', holder, previous: undefined, context });
  const pauseRule = (priority = 10): PolicyRule => ({ id: 'stop', then: { action: 'pause' }, mode: 'live', priority, cooldownMs: 0, maxActionsPerRun: undefined });

  it('computes the absolute target once, with the bounds said on the record', () => {
    const [d] = decide([of(budget('up', { by_percent: 20, max_usd: 110 }))], NOW);
    expect(d).toMatchObject({ outcome: 'act', target: 110_000_000 });
    expect(d?.reason).toContain('lifetime budget $100.00 → $110.00 (held at the ceiling max_usd $110.00)');
  });

  it('clips a change over the safety limit and says so', () => {
    const [d] = decide([of(budget('up', { by_percent: 500, max_usd: 10_000 }))], NOW);
    expect(d).toMatchObject({ outcome: 'act', target: 150_000_000 });
    expect(d?.reason).toContain('clipped from +$500.00 to +$50.00 by the safety limit of one change (50% of the current value)');
    expect(decide([of(budget('up', { by_percent: 500, max_usd: 10_000 }), withBudget(100_000_000), creation, { maxChangeFraction: 0.2, spentMicros: 0 })], NOW)[0]?.target).toBe(120_000_000);
  });

  it("never below Thrad's minimum nor below what the campaign has spent", () => {
    expect(decide([of(budget('down', { by_usd: -0.4 }), withBudget(1_200_000), creation, { maxChangeFraction: 0.5, spentMicros: 0 })], NOW)[0]).toMatchObject({ target: 990_000 });
    const [spent] = decide([of(budget('down', { by_percent: -40 }), withBudget(100_000_000), creation, { maxChangeFraction: 0.5, spentMicros: 75_500_000 })], NOW);
    expect(spent).toMatchObject({ outcome: 'act', target: 75_500_000 });
    expect(spent?.reason).toContain('not below what it has already spent ($75.50)');
    // Already at the floor: nothing to do.
    expect(decide([of(budget('down', { by_percent: -40 }), withBudget(75_500_000), creation, { maxChangeFraction: 0.5, spentMicros: 75_500_000 })], NOW)[0]?.outcome).toBe('already_in_state');
  });

  it('a whole number of micros', () => {
    expect(decide([of(budget('up', { by_percent: 33.3333, max_usd: 1_000 }), withBudget(1_000_001), creation, { maxChangeFraction: 0.5, spentMicros: 0 })], NOW)[0]?.target).toBe(1_333_334);
  });

  it('a pause of the same entity in the same run makes the money change moot', () => {
    const decisions = decide([of(budget('up', { by_percent: 20, max_usd: 1_000 }), withBudget(100_000_000), creation), of(pauseRule(1))], NOW);
    expect(decisions.map((d) => `${d.candidate.rule.id}: ${d.outcome}`)).toEqual(['up: skipped_conflict', 'stop: act']);
    expect(decisions[0]?.reason).toContain('stop');
  });

  it('two money changes on one value: the higher priority wins; on a tie, the decrease', () => {
    const up = (p: number) => of(budget('up', { by_percent: 20, max_usd: 1_000 }, p));
    const down = (p: number) => of(budget('down', { by_percent: -20, min_usd: 10 }, p));
    expect(decide([up(20), down(10)], NOW).map((d) => d.outcome)).toEqual(['act', 'skipped_conflict']);
    expect(decide([up(10), down(20)], NOW).map((d) => d.outcome)).toEqual(['skipped_conflict', 'act']);
    expect(decide([up(10), down(10)], NOW).map((d) => d.outcome)).toEqual(['skipped_conflict', 'act']);
    expect(decide([down(10), up(10)], NOW).map((d) => d.outcome)).toEqual(['act', 'skipped_conflict']);
  });

  it('an increase starts spend: never over a person’s change or an unknown one, nor over a higher-priority decrease', () => {
    const up = budget('up', { by_percent: 20, max_usd: 1_000 }, 10);
    const byRule = (priority: number): Holder => ({ kind: 'rule', rule_id: 'cut', priority, intent: 100_000_000, direction: 'down', by: 'change', decision_id: 'd_cut', at_ms: NOW - HOUR });
    expect(decide([of(up, withBudget(100_000_000), person)], NOW)[0]).toMatchObject({ outcome: 'skipped_manual_override' });
    expect(decide([of(up, withBudget(100_000_000), unknown)], NOW)[0]).toMatchObject({ outcome: 'skipped_manual_override' });
    expect(decide([of(up, withBudget(100_000_000), byRule(20))], NOW)[0]).toMatchObject({ outcome: 'skipped_conflict', reason: expect.stringContaining('with its lifetime budget lowered by cut (priority 20') as unknown });
    expect(decide([of(up, withBudget(100_000_000), byRule(5))], NOW)[0]?.outcome).toBe('act');
  });

  it('a decrease stops spend: allowed over anyone', () => {
    const down = budget('down', { by_percent: -20, min_usd: 10 }, 1);
    for (const holder of [person, unknown, creation, heldBy('other', 99, 'active')]) expect(decide([of(down, withBudget(100_000_000), holder)], NOW)[0]?.outcome).toBe('act');
  });

  it('approval mode proposes the exact change; dry run would act', () => {
    expect(decide([of(budget('up', { by_percent: 20, max_usd: 1_000 }, 10, { mode: 'approval' }))], NOW)[0]).toMatchObject({ outcome: 'awaiting_approval', target: 120_000_000 });
    expect(decide([of(budget('up', { by_percent: 20, max_usd: 1_000 }, 10, { mode: 'dry_run' }))], NOW)[0]).toMatchObject({ outcome: 'would_act', target: 120_000_000 });
  });

  it('an ad group without a max bid is left alone', () => {
    const bid: PolicyRule = { id: 'bid', then: { action: 'change_bid', by_percent: -10, min_usd: 0.5 }, mode: 'live', priority: 1, cooldownMs: 0, maxActionsPerRun: undefined };
    expect(decide([of(bid, entityOf({ level: 'ad_group', reviewStatus: null, maxBidMicros: null }))], NOW)[0]).toMatchObject({ outcome: 'skipped_not_applicable', reason: 'it has no max bid to change' });
  });
});
