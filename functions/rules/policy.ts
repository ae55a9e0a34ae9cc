// The decision policy, applied after evaluation: a pure function of (candidates, prior
// decisions, clock). It decides, per (rule, entity) that matched or lacked data, whether to act
// and otherwise why not: already in the state, a human changed what a rule limited by
// only_if_paused_by would undo, cooldown, the per-run cap (which stops the whole rule), or a
// conflict with another rule on the same entity (higher priority wins; on a tie pause and
// archive win over activate). Dry-run rules are judged the same way but never block live ones.
import { ACTION_TARGET, type RuleAction } from './vocabulary';

export type PolicyOutcome =
  | 'act'
  | 'would_act'
  | 'insufficient_data'
  | 'already_in_state'
  | 'skipped_cooldown'
  | 'skipped_cap'
  | 'skipped_conflict'
  | 'skipped_manual_override';

export interface PolicyRule {
  id: string;
  action: RuleAction;
  mode: 'live' | 'dry_run';
  priority: number;
  cooldownMs: number;
  maxActionsPerRun: number | undefined;
  onlyIfPausedBy: readonly string[] | undefined;
}

export interface PolicyEntity {
  id: string;
  /** Status as read back (ad groups and ads read archived as paused). */
  status: 'active' | 'paused' | 'archived';
  /** Unix seconds of the entity's last change, when the API reports it. */
  updatedAt: number | null;
  level: 'campaign' | 'ad_group' | 'ad';
}

export interface Candidate {
  rule: PolicyRule;
  entity: PolicyEntity;
  verdict: 'match' | 'insufficient_data';
}

export interface PriorAction {
  ruleId: string;
  action: RuleAction;
  outcome: 'acted' | 'would_act';
  atMs: number;
  /** The entity's updated_at right after the action (what the API answered), if known. */
  entityUpdatedAtAfter: number | null;
}

export interface PriorDecisions {
  /** The last time this rule acted on this entity (would_act counts only when `dryRun`). */
  lastAction(ruleId: string, entityId: string, dryRun: boolean): PriorAction | undefined;
  /** The last status change any rule made (acted, live) on this entity. */
  lastStatusChange(entityId: string): PriorAction | undefined;
}

export interface PolicyDecision {
  candidate: Candidate;
  outcome: PolicyOutcome;
  reason: string;
}

const PRECEDENCE: Record<RuleAction, number> = { archive: 3, pause: 2, activate: 1, notify: 0 };

/** The status an action leaves an entity in as read back. */
export function readBackTarget(action: Exclude<RuleAction, 'notify'>, level: PolicyEntity['level']): PolicyEntity['status'] {
  const target = ACTION_TARGET[action];
  return level !== 'campaign' && target === 'archived' ? 'paused' : target;
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

/** Who wins between two candidates wanting a status change on one entity. */
function ranks(a: Candidate, b: Candidate): number {
  return b.rule.priority - a.rule.priority || PRECEDENCE[b.rule.action] - PRECEDENCE[a.rule.action] || (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0);
}

export function decide(candidates: readonly Candidate[], prior: PriorDecisions, nowMs: number): PolicyDecision[] {
  const decisions = new Map<Candidate, PolicyDecision>();
  const set = (candidate: Candidate, outcome: PolicyOutcome, reason: string): void => {
    decisions.set(candidate, { candidate, outcome, reason });
  };
  const open: Candidate[] = [];

  for (const c of candidates) {
    const { rule, entity } = c;
    if (c.verdict === 'insufficient_data') {
      set(c, 'insufficient_data', 'not enough data to decide; no action');
      continue;
    }
    if (rule.action !== 'notify') {
      const target = readBackTarget(rule.action, entity.level);
      if (entity.status === target) {
        set(c, 'already_in_state', `already ${target}`);
        continue;
      }
      if (entity.status === 'archived') {
        set(c, 'already_in_state', `archived: ${rule.action} cannot apply to an archived ${entity.level}`);
        continue;
      }
    }
    if (rule.onlyIfPausedBy !== undefined) {
      const last = prior.lastStatusChange(entity.id);
      if (!last || last.action !== 'pause' || !rule.onlyIfPausedBy.includes(last.ruleId)) {
        const what = last ? `the last automated change was ${last.action} by ${last.ruleId} at ${formatTime(last.atMs)}` : 'no automated pause is on record';
        set(c, 'skipped_manual_override', `not paused by ${rule.onlyIfPausedBy.join(' or ')} (${what}); a pause by someone else is left alone`);
        continue;
      }
      if (entity.updatedAt !== null && last.entityUpdatedAtAfter !== null && entity.updatedAt > last.entityUpdatedAtAfter) {
        set(c, 'skipped_manual_override', `changed since ${last.ruleId} paused it at ${formatTime(last.atMs)} (updated_at ${formatTime(entity.updatedAt * 1000)}); left alone`);
        continue;
      }
    }
    const previous = prior.lastAction(rule.id, entity.id, rule.mode === 'dry_run');
    if (previous && rule.cooldownMs > 0 && nowMs - previous.atMs < rule.cooldownMs) {
      const until = rule.cooldownMs === Number.POSITIVE_INFINITY ? 'for good' : `until ${formatTime(previous.atMs + rule.cooldownMs)}`;
      set(c, 'skipped_cooldown', `this rule ${previous.outcome === 'acted' ? 'acted' : 'would have acted'} on it at ${formatTime(previous.atMs)}; cooldown ${formatDuration(rule.cooldownMs)} lasts ${until}`);
      continue;
    }
    open.push(c);
  }

  // Per-run cap: over the cap, the rule acts on nothing (a blast-radius stop), and says why.
  const perRule = new Map<string, Candidate[]>();
  for (const c of open) perRule.set(c.rule.id, [...(perRule.get(c.rule.id) ?? []), c]);
  const capped = new Set<Candidate>();
  for (const [, list] of perRule) {
    const cap = list[0]?.rule.maxActionsPerRun;
    if (cap !== undefined && list.length > cap) {
      for (const c of list) {
        capped.add(c);
        set(c, 'skipped_cap', `${list.length} entities would be acted on, over max_actions_per_run ${cap}: this rule acts on none this run (check the rule, or raise the cap)`);
      }
    }
  }
  const contenders = open.filter((c) => !capped.has(c));

  // Conflicts: per entity, one status change.
  const byEntity = new Map<string, Candidate[]>();
  for (const c of contenders) {
    if (c.rule.action === 'notify') {
      set(c, c.rule.mode === 'live' ? 'act' : 'would_act', 'matched');
      continue;
    }
    byEntity.set(c.entity.id, [...(byEntity.get(c.entity.id) ?? []), c]);
  }
  for (const list of byEntity.values()) {
    const all = [...list].sort(ranks);
    const live = all.filter((c) => c.rule.mode === 'live');
    const liveWinner = live[0];
    for (const c of all) {
      const winner = c.rule.mode === 'live' ? liveWinner : all[0];
      if (winner === c || winner === undefined) {
        set(c, c.rule.mode === 'live' ? 'act' : 'would_act', list.length > 1 ? `matched; wins over ${list.filter((o) => o !== c).map((o) => o.rule.id).join(', ')}` : 'matched');
        continue;
      }
      const why = winner.rule.priority !== c.rule.priority ? `priority ${winner.rule.priority} over ${c.rule.priority}` : PRECEDENCE[winner.rule.action] !== PRECEDENCE[c.rule.action] ? `${winner.rule.action} wins over ${c.rule.action} at equal priority` : 'first by rule id at equal priority and action';
      set(c, 'skipped_conflict', `rule ${winner.rule.id} (${winner.rule.action}) takes this entity this run: ${why}`);
    }
  }
  return candidates.map((c) => decisions.get(c) as PolicyDecision);
}
