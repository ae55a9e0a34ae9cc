// Per-run state, apart from the engine's definitions (json-rules-engine's Almanac is the model):
// who the run is, the one instant its windows and evaluation use, its deadline, and what it has
// settled so far. A fresh one per run, so nothing of one run leaks into the next in a warm Lambda.
import type { DecisionRecord, NotificationRecord, RunRepeat, RunSummary, Trigger } from '../audit/records';
import type { RunMode } from '../audit/store';
import type { Clock } from '../shared/clock';

/** What a run has settled: its decisions, and their outcomes counted overall and per rule. */
export class Tally {
  readonly decisions: DecisionRecord[] = [];
  readonly counts: Record<string, number> = {};
  readonly perRule: Record<string, Record<string, number>> = {};
  /** Decisions counted, not written, because they repeat the last recorded one (engine/repeats.ts). */
  repeats: RunRepeat[] = [];

  bump(key: string, by = 1, ruleId?: string): void {
    this.counts[key] = (this.counts[key] ?? 0) + by;
    if (ruleId !== undefined) {
      const stats = (this.perRule[ruleId] ??= {});
      stats[key] = (stats[key] ?? 0) + by;
    }
  }

  /** Count per rule only (evaluations), not overall. */
  bumpRule(ruleId: string, key: string, by = 1): void {
    const stats = (this.perRule[ruleId] ??= {});
    stats[key] = (stats[key] ?? 0) + by;
  }
}

export interface RunContext {
  readonly runId: string;
  readonly accountId: string;
  /** The scheduled occurrence, ISO 8601 to the second. */
  readonly occurrence: string;
  readonly scheduleId: string | null;
  /**
   * The occurrence claim's key: the schedule and the rules the run serves. Two processes (or
   * deployments) running different rules at one instant each claim their own; the same rules, once.
   */
  readonly claimKey: string | null;
  /** `dry_run` when every rule is forced to record only (preview, --dry-run); else `live`. */
  readonly mode: RunMode;
  readonly forcedDryRun: boolean;
  readonly trigger: Trigger;
  /** Engine-clock Unix ms the run resolves its windows, evaluates and records at: read once. */
  readonly nowMs: number;
  /** Real-time Unix ms by which the run must be done. */
  readonly deadlineMs: number;
  /** The engine clock (the sandbox's when following one). */
  readonly clock: Clock;
  readonly tally: Tally;
  readonly errors: RunSummary['errors'];
  /** Failure alerts sent while the run goes on (engine/notifier.ts); awaited before its digest. */
  readonly alerts: Promise<NotificationRecord[]>[];
  readonly log: { run_id: string; scheduled_time: string };
}
