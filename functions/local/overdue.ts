// The local runner's "rule did not run" warning: a schedule group whose rules have had no
// completed run with their data for two of its occurrences (the machine slept, every cycle fails,
// or every cycle finds its data unavailable). Counted on
// the engine clock from the last completed run that served the group (from the runner's start
// until there is one): once two occurrences after it have passed, not counting the one about to
// run (it has not been missed yet), the group is overdue. Each
// group is named once per streak, and again only after it completes and falls behind anew. The
// Lambda deployment has the same check as a CloudWatch alarm (infra/stack.ts, RuleDidNotRun).
import type { ScheduleGroup } from '../rules/groups';
import { nextFireAfter } from '../rules/schedule';
import { localStamp } from './format';
export { rulesServed } from '../engine/served';

/** Occurrences without a completed run before a group is overdue. */
export const OVERDUE_OCCURRENCES = 2;

export interface OverdueSchedule {
  group: ScheduleGroup;
  /** Engine-clock ms of the last completed run of its rules, or of the runner's start. */
  sinceMs: number;
  /** Whether a run of its rules has completed since the runner started. */
  everCompleted: boolean;
}

export class DidNotRunWatch {
  private readonly last = new Map<string, { atMs: number; completed: boolean }>();
  private readonly warned = new Set<string>();
  /** Occurrences up to this engine-clock ms were not this runner's to run (its org was not served then). */
  private excusedUntilMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly groups: readonly ScheduleGroup[],
    startedMs: number,
  ) {
    for (const group of groups) this.last.set(group.id, { atMs: startedMs, completed: false });
  }

  /** A run that completed at `atMs` (engine clock) served these rules: their groups are on time again. */
  completed(ruleIds: readonly string[], atMs: number): void {
    const ran = new Set(ruleIds);
    for (const group of this.groups) {
      if (!group.ruleIds.some((id) => ran.has(id))) continue;
      this.last.set(group.id, { atMs, completed: true });
      this.warned.delete(group.id);
    }
  }

  /**
   * The runner did not serve these rules up to `atMs` (their org disabled or changed in the orgs
   * file): occurrences until then were not missed, and are not counted once it serves them again.
   */
  notServed(atMs: number): void {
    this.excusedUntilMs = Math.max(this.excusedUntilMs, atMs);
  }

  /**
   * Groups that became overdue by `nowMs` and were not named yet in this streak; `pendingMs` is the
   * occurrence about to run (checked before a tick), which does not count as missed.
   */
  check(nowMs: number, pendingMs?: number): OverdueSchedule[] {
    const out: OverdueSchedule[] = [];
    for (const group of this.groups) {
      const last = this.last.get(group.id);
      if (!last || this.warned.has(group.id)) continue;
      let missed = 0;
      for (let at = nextFireAfter(group.schedule, group.timezone, Math.max(last.atMs, this.excusedUntilMs)); at !== null && at <= nowMs && missed < OVERDUE_OCCURRENCES; at = nextFireAfter(group.schedule, group.timezone, at)) {
        if (at !== pendingMs) missed += 1;
      }
      if (missed < OVERDUE_OCCURRENCES) continue;
      this.warned.add(group.id);
      out.push({ group, sinceMs: last.atMs, everCompleted: last.completed });
    }
    return out;
  }
}

/** One line: the rules, the schedule, and when it last completed (in the schedule's zone). */
export function overdueLine(o: OverdueSchedule): string {
  const { group } = o;
  const rules = `${group.ruleIds.length === 1 ? 'rule' : 'rules'} ${group.ruleIds.join(', ')}`;
  const since = localStamp(new Date(o.sinceMs).toISOString(), group.timezone);
  return `Warning: ${rules} (${group.expression}, ${group.timezone}) did not run: no completed run with its data for ${OVERDUE_OCCURRENCES} periods; ${o.everCompleted ? `last completed ${since}` : `none completed since this runner started at ${since}`}.`;
}

/**
 * The same warning for the fleet runner (`run --orgs`): one watch per organization, on its own
 * schedule groups, each line prefixed with the org. A run of one org never puts another on time.
 */
export class FleetDidNotRunWatch {
  private readonly watches = new Map<string, DidNotRunWatch>();

  constructor(orgs: readonly { orgId: string; groups: readonly ScheduleGroup[] }[], startedMs: number) {
    for (const org of orgs) this.watches.set(org.orgId, new DidNotRunWatch(org.groups, startedMs));
  }

  /** A run of `orgId` completed at `atMs` and served these rules. */
  completed(orgId: string, ruleIds: readonly string[], atMs: number): void {
    this.watches.get(orgId)?.completed(ruleIds, atMs);
  }

  /** `orgId` was not served at `atMs` (disabled or changed in the orgs file: the fleet's `onNotServed`): that tick was not its to run. */
  notServed(orgId: string, atMs: number): void {
    this.watches.get(orgId)?.notServed(atMs);
  }

  /**
   * The lines for every org's groups that became overdue by `nowMs` (`pendingMs`: the tick about
   * to run). The ticks an org was not served for are not counted as missed.
   */
  check(nowMs: number, pendingMs?: number): string[] {
    const lines: string[] = [];
    for (const [orgId, watch] of this.watches) for (const o of watch.check(nowMs, pendingMs)) lines.push(`[${orgId}] ${overdueLine(o)}`);
    return lines;
  }
}
