// The decision policy, applied after evaluation: a pure function of (candidates, clock). For each
// (rule, entity) that matched or lacked data it decides whether to act and otherwise why not:
//
//   1. insufficient data never acts;
//   2. the action's own plan: already in its target (`already_in_state`), or not possible
//      (`skipped_not_approved`: Thrad activates only approved campaigns; `skipped_not_applicable`:
//      e.g. a bid change on an ad group with no max bid); a live rule that finds its target
//      already in place takes hold of it (engine/ownership.ts `mayAssert`), and a resume rule
//      that cannot act ends the hold of the rule it names;
//   3. starting spend (activate, a budget or bid increase) needs the right to, against the
//      holder of that value after step 2 (`skipped_manual_override`, `skipped_conflict`); stopping
//      spend never does;
//   4. the rule's own cooldown, and a proposal still awaiting approval (`skipped_cooldown`);
//   5. conflicts per (entity, conflict class): higher priority, then the action's precedence
//      (archive > pause > activate; a decrease over an increase), then the rule id; a pause or
//      archive that wins on an entity makes a money change on it moot; dry-run and approval rules
//      are judged the same way but never block live ones (`skipped_conflict`);
//   6. the per-run cap, counting only what a rule would do after conflicts: over it, the rule
//      acts on none (`skipped_cap`), and what it would have taken goes back to the others.
import { DEFAULT_MAX_CHANGE_PERCENT } from '../actions/limits';
import { ACTIONS, onlyIfPausedBy, type ActionName, type ThenParams } from '../actions/registry';
import type { ActionDefinition, ActionPlan, ActionValue, EntitySnapshot, HeldClass, PlanContext } from '../actions/types';
import type { Holder } from '../audit/records';
import { mayAssert, mayStartSpend, type StartRight } from '../engine/ownership';

export type PolicyOutcome =
  | 'act'
  | 'would_act'
  | 'awaiting_approval'
  | 'insufficient_data'
  | 'already_in_state'
  | 'skipped_cooldown'
  | 'skipped_cap'
  | 'skipped_conflict'
  | 'skipped_manual_override'
  | 'skipped_not_approved'
  | 'skipped_not_applicable';

export type PolicyMode = 'live' | 'dry_run' | 'approval';

export interface PolicyRule {
  id: string;
  then: ThenParams;
  mode: PolicyMode;
  priority: number;
  cooldownMs: number;
  maxActionsPerRun: number | undefined;
  /** Approval mode: how long a proposal waits for a person. */
  approvalExpiresMs?: number;
}

export interface PriorAction {
  ruleId: string;
  action: ActionName;
  /** `proposed`: an approval-mode proposal (it blocks a new one until it expires). */
  outcome: 'acted' | 'would_act' | 'proposed';
  atMs: number;
}

export interface Candidate {
  rule: PolicyRule;
  entity: EntitySnapshot;
  verdict: 'match' | 'insufficient_data';
  /** Who holds the value the rule's action changes, as the run found it (engine/ownership.ts holderOf). */
  holder: Holder;
  /** This rule's last action on the entity (its would_act and proposals too when not live): the cooldown. */
  previous: PriorAction | undefined;
  /** What the plan needs beyond the entity (lifetime spend, the safety limit). */
  context?: PlanContext;
  /**
   * The entity was not read again for this rule because the rule is in its cooldown on it (an
   * insights-listed entity carries no timestamps nor bid; reading it costs a request per entity
   * per run, for a decision the cooldown makes anyway): it is `skipped_cooldown` without a plan.
   */
  unreadInCooldown?: boolean;
}

export interface PolicyDecision {
  candidate: Candidate;
  outcome: PolicyOutcome;
  reason: string;
  /** The holder the decision was made against (after this run's assertions). */
  holder: Holder;
  /** What the action sets (status or amount) when it acts. */
  target: ActionValue;
  /** A hold a live rule takes without a call (it found its target in place, or ended a named hold). */
  takesHold: Holder | undefined;
}

const DEFAULT_CONTEXT: PlanContext = { maxChangeFraction: DEFAULT_MAX_CHANGE_PERCENT / 100 };

function definitionOf(rule: PolicyRule): ActionDefinition {
  return ACTIONS[rule.then.action];
}

function rightOf(rule: PolicyRule): StartRight {
  return { ruleId: rule.id, priority: rule.priority, onlyIfPausedBy: onlyIfPausedBy(rule.then) };
}

/** Whether the rule's cooldown on the entity still runs (a proposal awaiting approval is not a cooldown). */
export function inCooldown(c: Pick<Candidate, 'previous' | 'rule'>, nowMs: number): boolean {
  const previous = c.previous;
  return previous !== undefined && previous.outcome !== 'proposed' && c.rule.cooldownMs > 0 && nowMs - previous.atMs < c.rule.cooldownMs;
}

function cooldownReason(c: Candidate): string {
  const previous = c.previous;
  if (!previous) return 'in its cooldown';
  const until = c.rule.cooldownMs === Number.POSITIVE_INFINITY ? 'for good' : `until ${formatTime(previous.atMs + c.rule.cooldownMs)}`;
  return `this rule ${previous.outcome === 'acted' ? 'acted' : 'would have acted'} on it at ${formatTime(previous.atMs)}; cooldown ${formatDuration(c.rule.cooldownMs)} lasts ${until}`;
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.round(minutes / 60);
  return hours < 72 ? `${hours}h` : `${Math.round(hours / 24)}d`;
}

const targetOf = (plan: ActionPlan | undefined): ActionValue => (plan?.kind === 'set' ? plan.target : null);

/** Who wins between two candidates on one entity and conflict class: negative when `a` does. */
function ranksWith(plans: ReadonlyMap<Candidate, ActionPlan>): (a: Candidate, b: Candidate) => number {
  const precedence = (c: Candidate): number => definitionOf(c.rule).precedence(c.entity, targetOf(plans.get(c)));
  return (a, b) => b.rule.priority - a.rule.priority || precedence(b) - precedence(a) || (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0);
}

const isHeld = (cls: string): cls is HeldClass => cls !== 'none';
const acting = (mode: PolicyMode): PolicyOutcome => (mode === 'live' ? 'act' : mode === 'dry_run' ? 'would_act' : 'awaiting_approval');

export function decide(candidates: readonly Candidate[], nowMs: number): PolicyDecision[] {
  const decisions = new Map<Candidate, PolicyDecision>();
  const heldNow = new Map<string, Holder>();
  const heldKey = (c: Candidate): string => `${c.entity.id}|${definitionOf(c.rule).conflictClass}`;
  const holderOf = (c: Candidate): Holder => heldNow.get(heldKey(c)) ?? c.holder;
  const plans = new Map<Candidate, ActionPlan>();
  const set = (c: Candidate, outcome: PolicyOutcome, reason: string, extra: { target?: ActionValue; takesHold?: Holder } = {}): void => {
    decisions.set(c, { candidate: c, outcome, reason, holder: holderOf(c), target: extra.target ?? null, takesHold: extra.takesHold });
  };

  for (const c of candidates) {
    if (c.verdict === 'insufficient_data') set(c, 'insufficient_data', 'not enough data to decide; no action');
    else if (c.unreadInCooldown && inCooldown(c, nowMs)) set(c, 'skipped_cooldown', cooldownReason(c));
    else plans.set(c, definitionOf(c.rule).plan(c.entity, c.rule.then, c.context ?? DEFAULT_CONTEXT));
  }
  const ranks = ranksWith(plans);
  takeHolds([...plans.keys()].sort(ranks), plans, holderOf, nowMs, (c, outcome, reason, hold) => {
    set(c, outcome, reason, { takesHold: hold });
    if (hold) heldNow.set(heldKey(c), hold);
  });

  const open: Candidate[] = [];
  for (const [c, plan] of plans) {
    if (plan.kind !== 'set') continue;
    const def = definitionOf(c.rule);
    if (def.spend(c.entity, plan.target) === 'starts' && isHeld(def.conflictClass)) {
      const verdict = mayStartSpend(holderOf(c), rightOf(c.rule), def.conflictClass);
      if (!verdict.allowed) {
        set(c, verdict.outcome, verdict.reason);
        continue;
      }
    }
    const waiting = pendingProposal(c, nowMs);
    if (waiting) {
      set(c, 'skipped_cooldown', waiting);
      continue;
    }
    if (inCooldown(c, nowMs)) {
      set(c, 'skipped_cooldown', cooldownReason(c));
      continue;
    }
    open.push(c);
  }
  resolveContenders(open, plans, ranks, set);
  return candidates.map((c) => decisions.get(c) as PolicyDecision);
}

/** An approval-mode rule's earlier proposal on this entity, still waiting: no new one until it expires. */
function pendingProposal(c: Candidate, nowMs: number): string | null {
  const previous = c.previous;
  if (c.rule.mode !== 'approval' || previous?.outcome !== 'proposed') return null;
  const expires = previous.atMs + (c.rule.approvalExpiresMs ?? 86_400_000);
  return nowMs < expires ? `a proposal of this rule from ${formatTime(previous.atMs)} waits for approval until ${formatTime(expires)}; no second one meanwhile` : null;
}

/** Step 2: plans that need no call; a live rule finding its target in place takes hold of it. */
function takeHolds(sorted: readonly Candidate[], plans: ReadonlyMap<Candidate, ActionPlan>, holderOf: (c: Candidate) => Holder, nowMs: number, settle: (c: Candidate, outcome: PolicyOutcome, reason: string, hold: Holder | undefined) => void): void {
  for (const c of sorted) {
    const plan = plans.get(c) as ActionPlan;
    if (plan.kind === 'set') continue;
    const def = definitionOf(c.rule);
    const holder = holderOf(c);
    let hold: Extract<Holder, { kind: 'rule' }> | undefined;
    if (c.rule.mode === 'live' && isHeld(def.conflictClass)) {
      const right = rightOf(c.rule);
      if (plan.kind === 'already' && mayAssert(holder, right)) {
        hold = { kind: 'rule', rule_id: c.rule.id, priority: c.rule.priority, intent: def.read(c.entity), ...(plan.direction ? { direction: plan.direction } : {}), by: 'assertion', decision_id: null, at_ms: nowMs };
      } else if (plan.kind === 'not_possible' && def.conflictClass === 'status' && holder.kind === 'rule' && (right.onlyIfPausedBy?.includes(holder.rule_id) ?? false)) {
        hold = { kind: 'rule', rule_id: c.rule.id, priority: c.rule.priority, intent: 'active', by: 'release', decision_id: null, at_ms: nowMs };
      }
    }
    const reason = hold ? `${plan.reason}; ${hold.by === 'release' ? `this ends ${holder.kind === 'rule' ? holder.rule_id : 'the'} hold` : 'held by this rule from now on'}` : plan.reason;
    settle(c, plan.kind === 'already' ? 'already_in_state' : plan.outcome, reason, hold);
  }
}

type Setter = (c: Candidate, outcome: PolicyOutcome, reason: string, extra?: { target?: ActionValue }) => void;

interface Contest {
  wins: boolean;
  reason: string;
}

const STOPS_STATUS = new Set<ActionName>(['pause', 'archive']);

/** Per (entity, conflict class): who takes it this run; a winning pause or archive makes money changes moot. */
function contest(contenders: readonly Candidate[], ranks: (a: Candidate, b: Candidate) => number): Map<Candidate, Contest> {
  const out = new Map<Candidate, Contest>();
  const groups = new Map<string, Candidate[]>();
  for (const c of contenders) {
    const cls = definitionOf(c.rule).conflictClass;
    if (cls === 'none') {
      out.set(c, { wins: true, reason: 'matched' });
      continue;
    }
    const key = `${c.entity.id}|${cls}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const list of groups.values()) {
    const all = [...list].sort(ranks);
    const liveWinner = all.find((c) => c.rule.mode === 'live');
    for (const c of all) {
      const winner = c.rule.mode === 'live' ? liveWinner : all[0];
      if (winner === c || winner === undefined) {
        out.set(c, { wins: true, reason: list.length > 1 ? `matched; wins over ${list.filter((o) => o !== c).map((o) => o.rule.id).join(', ')}` : 'matched' });
        continue;
      }
      const why =
        winner.rule.priority !== c.rule.priority
          ? `priority ${winner.rule.priority} over ${c.rule.priority}`
          : definitionOf(winner.rule).precedence(winner.entity, null) !== definitionOf(c.rule).precedence(c.entity, null) || winner.rule.then.action !== c.rule.then.action
            ? `${winner.rule.then.action} wins over ${c.rule.then.action} at equal priority`
            : 'first by rule id at equal priority and action';
      out.set(c, { wins: false, reason: `rule ${winner.rule.id} (${winner.rule.then.action}) takes this entity this run: ${why}` });
    }
  }
  // A pause or archive that wins makes a money change on the same entity moot (a live stop for
  // everyone; a stop that only would act, for the rules that only would act).
  for (const [c, r] of out) {
    if (!r.wins || definitionOf(c.rule).conflictClass === 'status' || definitionOf(c.rule).conflictClass === 'none') continue;
    const stop = [...out].find(([o, s]) => s.wins && o.entity.id === c.entity.id && STOPS_STATUS.has(o.rule.then.action) && (o.rule.mode === 'live' || c.rule.mode !== 'live'));
    if (stop) out.set(c, { wins: false, reason: `rule ${stop[0].rule.id} (${stop[0].rule.then.action}) takes this entity this run: a ${stop[0].rule.then.action} makes the ${c.rule.then.action.replace('_', ' ')} moot` });
  }
  return out;
}

/**
 * Conflicts, then caps on the winners only; a capped rule drops out and the conflicts are decided
 * again without it, until no remaining rule is over its cap.
 */
function resolveContenders(open: readonly Candidate[], plans: ReadonlyMap<Candidate, ActionPlan>, ranks: (a: Candidate, b: Candidate) => number, set: Setter): void {
  const capped = new Map<string, number>();
  let results = contest(open, ranks);
  for (;;) {
    const wins = new Map<string, number>();
    for (const [c, r] of results) if (r.wins && !capped.has(c.rule.id)) wins.set(c.rule.id, (wins.get(c.rule.id) ?? 0) + 1);
    const over = [...wins].filter(([id, n]) => {
      const cap = open.find((c) => c.rule.id === id)?.rule.maxActionsPerRun;
      return cap !== undefined && n > cap;
    });
    if (over.length === 0) break;
    for (const [id, n] of over) capped.set(id, n);
    results = contest(open.filter((c) => !capped.has(c.rule.id)), ranks);
  }
  for (const c of open) {
    const cap = capped.get(c.rule.id);
    if (cap !== undefined) {
      set(c, 'skipped_cap', `${cap} entities would be acted on after conflicts, over max_actions_per_run ${String(c.rule.maxActionsPerRun)}: this rule acts on none this run (check the rule, or raise the cap)`);
      continue;
    }
    const r = results.get(c) as Contest;
    const plan = plans.get(c) as Extract<ActionPlan, { kind: 'set' }>;
    if (r.wins) set(c, acting(c.rule.mode), plan.note ? `${r.reason}; ${plan.note}` : r.reason, { target: plan.target });
    else set(c, 'skipped_conflict', r.reason);
  }
}
