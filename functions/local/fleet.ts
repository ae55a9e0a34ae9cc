// The local runner's fleet of organizations: at each tick, every enabled org with rules due runs
// one cycle covering all of them (the same plan as the AWS planner, functions/orgs/plan.ts), on a
// bounded pool of workers. As SQS FIFO does with MessageGroupId = org id, an org runs one cycle at
// a time: a tick that comes while its previous cycle still runs waits for it, and a waiting tick a
// newer one overtakes is skipped and recorded (`skipped_stale`), so a slow org only ever delays
// itself, and it catches up with the latest tick rather than replaying old ones. Orgs wait for a
// worker in the order their ticks came, so no org starves another. An org its registry no longer
// serves (disabled, removed or changed while the run goes on: `notServed`) is not planned, and a
// tick of it already waiting does not start: nothing is run or recorded for it.
import type { Engine } from '../engine/cycle';
import { recordStaleOccurrence } from '../engine/skipped';
import type { AuditStore } from '../audit/store';
import type { Trigger } from '../audit/records';
import type { CycleResult } from '../engine/cycle';
import type { ScheduleGroup } from '../rules/groups';
import { dueAt, TICK_SCHEDULE_ID, type DueTick } from '../orgs/plan';

export interface FleetOrg {
  orgId: string;
  accountId: string;
  engine: Pick<Engine, 'runCycle'>;
  /** The org's schedule groups (its rules, grouped by expression and time zone). */
  groups: readonly ScheduleGroup[];
}

export interface FleetOptions {
  orgs: readonly FleetOrg[];
  store: AuditStore;
  /** Cycles in flight at once, across orgs. */
  concurrency: number;
  /** The engine clock, Unix ms: staleness is judged on it. */
  nowMs: () => number;
  /** Real-time Unix ms by which a cycle starting now must end. */
  deadlineMs: () => number;
  mode?: 'live' | 'dry_run';
  trigger?: Trigger;
  /** The claim id of a tick (default "tick": one run per org and instant). */
  scheduleId?: string;
  onCycle?: (org: FleetOrg, tick: DueTick, result: CycleResult) => void;
  onSkipped?: (org: FleetOrg, tick: DueTick, reason: string) => void;
  onError?: (org: FleetOrg, tick: DueTick, error: unknown) => void;
  /**
   * Why an org is not to run now (the registry disables it, or no longer names it as it was
   * started), or null: asked when its tick is planned and again just before its cycle starts.
   */
  notServed?: (org: FleetOrg) => string | null;
  /** A due tick of an org `notServed` turned down: neither run nor recorded. */
  onNotServed?: (org: FleetOrg, tick: DueTick, reason: string) => void;
  /** Each org tick as a worker takes it up (engine clock): fairness figures. Nothing is kept here, so a long run holds no history. */
  onStart?: (start: FleetStart) => void;
}

export interface FleetStart {
  orgId: string;
  tickMs: number;
  startedAtMs: number;
}

interface Slot {
  org: FleetOrg;
  running: boolean;
  waiting: DueTick | undefined;
}

export class Fleet {
  private readonly slots = new Map<string, Slot>();
  /** Orgs with a waiting tick and no cycle running, in the order their ticks came. */
  private readonly ready: Slot[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  /** Skips being recorded (not cycles): drain waits for them too. */
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly options: FleetOptions) {
    for (const org of options.orgs) this.slots.set(org.orgId, { org, running: false, waiting: undefined });
  }

  /** Every schedule group of every org, once (a group id is its expression and zone). */
  unionGroups(): ScheduleGroup[] {
    const byId = new Map<string, ScheduleGroup>();
    for (const org of this.options.orgs) for (const group of org.groups) if (!byId.has(group.id)) byId.set(group.id, group);
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Plan the tick for every org and queue the orgs with something due; returns how many. */
  tick(tickMs: number): number {
    let queued = 0;
    for (const slot of this.slots.values()) {
      const due = dueAt(slot.org.groups, tickMs);
      if (!due) continue;
      if (this.turnedDown(slot.org, due)) continue;
      queued += 1;
      const overtaken = slot.waiting;
      slot.waiting = due;
      if (overtaken) {
        const recording = this.skip(slot.org, overtaken, `A newer tick (${new Date(tickMs).toISOString()}) came while this one waited for the organization's previous cycle; skipped`);
        this.background.add(recording);
        void recording.finally(() => this.background.delete(recording));
      }
      else if (!slot.running) this.ready.push(slot);
    }
    this.pump();
    return queued;
  }

  /** Resolves when no cycle runs and none waits. */
  async drain(): Promise<void> {
    if (this.active > 0 || this.ready.length > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await Promise.all([...this.background]);
  }

  private pump(): void {
    while (this.active < this.options.concurrency) {
      const slot = this.ready.shift();
      if (!slot) break;
      const tick = slot.waiting;
      slot.waiting = undefined;
      if (!tick) continue;
      slot.running = true;
      this.active += 1;
      void this.runOne(slot, tick).finally(() => {
        slot.running = false;
        this.active -= 1;
        if (slot.waiting) this.ready.push(slot);
        this.pump();
        if (this.active === 0 && this.ready.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async runOne(slot: Slot, tick: DueTick): Promise<void> {
    const { org } = slot;
    // Disabled (or changed) while its tick waited for a worker: it does not start.
    if (this.turnedDown(org, tick)) return;
    const nowMs = this.options.nowMs();
    this.options.onStart?.({ orgId: org.orgId, tickMs: tick.tickMs, startedAtMs: nowMs });
    const lateS = Math.round((nowMs - tick.tickMs) / 1000);
    if (lateS > tick.periodSeconds) {
      await this.skip(org, tick, `Started ${lateS} s after its tick, more than the shortest period of its rules (${tick.periodSeconds} s); skipped`);
      return;
    }
    try {
      const result = await org.engine.runCycle({ ruleIds: tick.ruleIds, scheduledTime: tick.tickMs, scheduleId: this.options.scheduleId ?? TICK_SCHEDULE_ID, mode: this.options.mode, deadlineMs: this.options.deadlineMs(), trigger: this.options.trigger ?? 'local' });
      this.options.onCycle?.(org, tick, result);
    } catch (error) {
      // One org's failure (its key revoked, its API down) never stops the others.
      this.options.onError?.(org, tick, error);
    }
  }

  /** Whether the registry turns the org's tick down now (said through onNotServed). */
  private turnedDown(org: FleetOrg, tick: DueTick): boolean {
    const reason = this.options.notServed?.(org) ?? null;
    if (reason === null) return false;
    this.options.onNotServed?.(org, tick, reason);
    return true;
  }

  private async skip(org: FleetOrg, tick: DueTick, reason: string): Promise<void> {
    this.options.onSkipped?.(org, tick, reason);
    try {
      await recordStaleOccurrence(this.options.store, { accountId: org.accountId, scheduleId: this.options.scheduleId ?? TICK_SCHEDULE_ID, scheduledMs: tick.tickMs, ruleIds: tick.ruleIds, trigger: this.options.trigger ?? 'local', nowMs: this.options.nowMs(), message: reason });
    } catch (error) {
      this.options.onError?.(org, tick, error);
    }
  }
}
