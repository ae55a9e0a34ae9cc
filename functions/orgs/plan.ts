// The tick planner: which rule occurrences are due at one tick, for one org. The AWS planner
// Lambda runs it every minute for every enabled org, and the local runner for each instant its
// scheduler wakes at, so both run the same occurrences: each rule's expression in its own time
// zone, with the schedule semantics of rules/schedule.ts (DST gaps skipped, overlaps fired once).
// Every due rule of an org runs in ONE cycle at that tick, so coincident schedules share one list
// and one read per window, and the claim is per (org, tick).
import type { ScheduleGroup } from '../rules/groups';
import { nextFireAfter } from '../rules/schedule';

/** How far apart ticks are on AWS (the planner's schedule). */
export const TICK_SECONDS = 60;

export interface DueTick {
  /** The tick: the instant (Unix ms) the occurrences are due at. */
  tickMs: number;
  /** The groups with an occurrence in (tick − tick length, tick], sorted by id. */
  groups: ScheduleGroup[];
  ruleIds: string[];
  /** The shortest period among the due groups: a tick delivered later than this is stale. */
  periodSeconds: number;
}

/**
 * The groups due at `tickMs`: those with an occurrence in (tickMs − windowMs, tickMs]. Every
 * EventBridge expression fires on whole minutes, so with the 60 s window each occurrence falls in
 * exactly one tick. Null when nothing is due.
 */
export function dueAt(groups: readonly ScheduleGroup[], tickMs: number, windowMs = TICK_SECONDS * 1000, only?: ReadonlySet<string>): DueTick | null {
  const due: ScheduleGroup[] = [];
  for (const group of groups) {
    const next = nextFireAfter(group.schedule, group.timezone, tickMs - windowMs);
    if (next !== null && next <= tickMs) due.push(group);
  }
  if (due.length === 0) return null;
  due.sort((a, b) => a.id.localeCompare(b.id));
  const ruleIds = [...new Set(due.flatMap((g) => g.ruleIds))].filter((id) => !only || only.has(id)).sort();
  if (ruleIds.length === 0) return null;
  return { tickMs, groups: due, ruleIds, periodSeconds: Math.min(...due.map((g) => g.periodSeconds)) };
}

/** The claim id of an org's tick: one run per (org, tick) whichever rules are due. */
export const TICK_SCHEDULE_ID = 'tick';
