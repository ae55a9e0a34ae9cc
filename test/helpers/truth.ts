// A ground truth for simulator tests: who made each campaign's status what it is, kept by the
// test from the events it scripted and the decisions recorded acted, and checked after every step
// against the sandbox's world (no unrecorded action) and against the ownership model (an
// activation never reverses a person's pause, nor a pause held by a rule of higher or equal
// priority it does not name).
import { expect } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import type { RuleInput } from '../../functions/rules/schema';
import type { SimStep } from '../../functions/sim/simulate';

export type Actor = { kind: 'person' } | { kind: 'creation' } | { kind: 'rule'; ruleId: string; priority: number };

/** The test's own account of who made each campaign's status what it is. */
export class GroundTruth {
  readonly status = new Map<string, string>();
  readonly lastPause = new Map<string, Actor>();
  /** Who last made each campaign active, and when (Unix ms). */
  readonly lastActivation = new Map<string, Actor & { atMs: number }>();
  private seenDecisions = 0;
  private seenEvents = 0;

  constructor(
    private readonly rules: readonly RuleInput[],
    campaigns: readonly { id: string; status: string }[],
  ) {
    for (const c of campaigns) {
      this.status.set(c.id, c.status);
      if (c.status === 'paused') this.lastPause.set(c.id, { kind: 'creation' });
      this.lastActivation.set(c.id, { kind: 'creation', atMs: 0 });
    }
  }

  private change(id: string, to: string, by: Actor, atMs: number): void {
    this.status.set(id, to);
    if (to === 'paused') this.lastPause.set(id, by);
    if (to === 'active') this.lastActivation.set(id, { ...by, atMs });
  }

  /** Events of the step first (they were applied before its tick), then its decisions. */
  check(step: SimStep): void {
    const events = step.events.slice(this.seenEvents);
    this.seenEvents = step.events.length;
    for (const e of events) {
      if (!e.ok) continue;
      const at = Date.parse(e.event.at);
      if (e.event.do === 'pause' || e.event.do === 'activate' || e.event.do === 'archive') this.change(e.event.id, { pause: 'paused', activate: 'active', archive: 'archived' }[e.event.do], { kind: 'person' }, at);
      if (e.event.do === 'undo') {
        const to = step.world.campaigns.get(e.event.entity)?.status;
        if (to) this.change(e.event.entity, to, { kind: 'person' }, at);
      }
    }
    const decisions = step.decisions.slice(this.seenDecisions);
    this.seenDecisions = step.decisions.length;
    for (const d of decisions) this.decision(d);
    for (const [id, status] of this.status) expect(step.world.campaigns.get(id)?.status, `${id} at ${new Date(step.atMs).toISOString()}: no unrecorded change`).toBe(status);
  }

  private decision(d: DecisionRecord): void {
    expect(d.outcome, `${d.decision_id} left pending`).not.toBe('pending');
    if (d.outcome !== 'acted') return;
    expect(d.status_after, `${d.decision_id} recorded acted without a change`).not.toBe(d.status_before);
    const rule = this.rules.find((r) => r.id === d.rule_id);
    if (d.action === 'activate' && rule) {
      const pause = this.lastPause.get(d.entity_id);
      const named = rule.then.action === 'activate' ? (rule.then.only_if_paused_by ?? []) : [];
      expect(pause?.kind, `${d.rule_id} activated ${d.entity_id} that a person paused (${d.evaluated_at})`).not.toBe('person');
      if (pause?.kind === 'rule' && !named.includes(pause.ruleId)) {
        expect(pause.priority, `${d.rule_id} (priority ${rule.priority ?? 0}) reversed ${pause.ruleId}'s pause (priority ${pause.priority}) at ${d.evaluated_at}`).toBeLessThan(rule.priority ?? 0);
      }
    }
    // An undo (even one settled later by reconciliation) is a person's change.
    const actor: Actor = d.undoes !== null ? { kind: 'person' } : { kind: 'rule', ruleId: d.rule_id, priority: rule?.priority ?? 0 };
    this.change(d.entity_id, d.status_after ?? '', actor, Date.parse(d.evaluated_at));
  }
}

