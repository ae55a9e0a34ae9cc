// The local runner's in-process scheduler: each (expression, time zone) group fires at the
// instants EventBridge Scheduler would (rules/schedule.ts), on the engine clock, so a sandbox
// running ×1200 fires 22:00 New York time when its clock says so. Groups due at the same instant
// are one tick: one run for all their rules, so coincident schedules share one read of the lists
// and of each window, and rules that disagree are decided in one run. When a run overruns later
// occurrences, only the latest missed one is run (and the skips reported). An abort stops it
// cleanly after the current run.
import type { Clock } from '../shared/clock';
import { nextFireAfter } from '../rules/schedule';
import type { ScheduleGroup } from '../rules/groups';

export interface SchedulerOptions {
  groups: readonly ScheduleGroup[];
  clock: Clock;
  /** Resolve when the engine clock reaches `untilMs`; reject (or resolve) on abort. */
  wait: (untilMs: number, signal: AbortSignal) => Promise<void>;
  /** One tick: every group due at `occurrenceMs` (sorted by group id). */
  runTick: (groups: readonly ScheduleGroup[], occurrenceMs: number) => Promise<void>;
  onSkipped?: (group: ScheduleGroup, skipped: number) => void;
}

export class LocalScheduler {
  constructor(private readonly options: SchedulerOptions) {}

  /** The next fire time of every group after `afterMs`. */
  upcoming(afterMs: number): Map<ScheduleGroup, number> {
    const next = new Map<ScheduleGroup, number>();
    for (const group of this.options.groups) {
      const at = nextFireAfter(group.schedule, group.timezone, afterMs);
      if (at !== null) next.set(group, at);
    }
    return next;
  }

  /**
   * Fire until aborted (or until `limits`); returns how many ticks were run. `fromMs` is
   * where the schedule starts (default: now): fires after it that the clock has already passed
   * run at once, so a slow start never loses an occurrence.
   */
  async run(signal: AbortSignal, limits: { untilMs?: number; maxRuns?: number; fromMs?: number } = {}): Promise<number> {
    const { clock, wait, runTick } = this.options;
    const next = this.upcoming(limits.fromMs ?? clock.nowMs());
    let runs = 0;
    while (!signal.aborted && next.size > 0) {
      const earliest = Math.min(...next.values());
      if (limits.untilMs !== undefined && earliest > limits.untilMs) break;
      try {
        await wait(earliest, signal);
      } catch {
        break;
      }
      if (signal.aborted) break;
      const due = [...next.entries()].filter(([, at]) => at === earliest).map(([group]) => group).sort((a, b) => a.id.localeCompare(b.id));
      await runTick(due, earliest);
      runs += 1;
      if (limits.maxRuns !== undefined && runs >= limits.maxRuns) return runs;
      const now = clock.nowMs();
      for (const group of due) {
        let at = nextFireAfter(group.schedule, group.timezone, earliest);
        let skipped = 0;
        // Overran: keep only the latest occurrence that is already due.
        for (let after = at === null ? null : nextFireAfter(group.schedule, group.timezone, at); at !== null && after !== null && after <= now; after = nextFireAfter(group.schedule, group.timezone, at)) {
          at = after;
          skipped += 1;
        }
        if (skipped > 0) this.options.onSkipped?.(group, skipped);
        if (at === null) next.delete(group);
        else next.set(group, at);
      }
    }
    return runs;
  }
}

/** Wait in real time until a clock running `speed` times faster than real time reaches `untilMs`. */
export function waitForClock(clock: Clock, speed: number): (untilMs: number, signal: AbortSignal) => Promise<void> {
  return (untilMs, signal) =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const tick = (): void => {
        const remaining = untilMs - clock.nowMs();
        if (signal.aborted || remaining <= 0) return done();
        const realMs = speed > 0 ? remaining / speed : 1_000;
        timer = setTimeout(tick, Math.max(2, Math.min(realMs, 1_000)));
      };
      signal.addEventListener('abort', done, { once: true });
      tick();
    });
}
