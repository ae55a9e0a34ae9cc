// The tick planner and the local fleet: one cycle per org per tick covering every rule due (in each
// rule's zone, DST included), at most N cycles at once, one cycle per org at a time, a slow org
// delaying only itself (its overtaken ticks recorded skipped_stale), one org's failure leaving the
// others running. Engines are stand-ins that finish when the test says: nothing depends on timing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import type { CycleRequest, CycleResult, Engine } from '../../functions/engine/cycle';
import { Fleet, type FleetOrg, type FleetStart } from '../../functions/local/fleet';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { dueAt } from '../../functions/orgs/plan';
import { scheduleGroups } from '../../functions/rules/groups';
import type { Rule } from '../../functions/rules/schema';
import { ManualClock } from '../../functions/shared/clock';

const rule = (id: string, expression: string, timezone = 'America/New_York'): Rule => ({ id, schedule: { expression, timezone }, enabled: true }) as unknown as Rule;
const NY_22 = Date.parse('2026-11-24T03:00:00Z'); // 22:00 EST on 2026-11-23

class StandInEngine implements Pick<Engine, 'runCycle'> {
  readonly requests: CycleRequest[] = [];
  private readonly gates: (() => void)[] = [];
  constructor(private readonly opts: { hold?: boolean; fail?: boolean } = {}) {}
  runCycle(request: CycleRequest): Promise<CycleResult> {
    this.requests.push(request);
    if (this.opts.fail) return Promise.reject(new Error('401 invalid_api_key'));
    const result = { summary: { rule_ids: [...(request.ruleIds ?? [])], errors: [] }, decisions: [] } as unknown as CycleResult;
    if (!this.opts.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.gates.push(() => resolve(result)));
  }
  release(): void {
    this.gates.shift()?.();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

/** Let queued promise callbacks run (no timers). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
};

describe('the tick planner', () => {
  const groups = scheduleGroups([rule('daypart-pause', 'cron(0 22 * * ? *)'), rule('cpc-guard', 'rate(15 minutes)'), rule('budget-guard', 'rate(1 hour)'), rule('morning', 'cron(0 7 * * ? *)')]);

  it('runs every rule due at a tick in one plan, coincident schedules together', () => {
    const due = dueAt(groups, NY_22);
    expect(due?.ruleIds).toEqual(['budget-guard', 'cpc-guard', 'daypart-pause']);
    expect(due?.periodSeconds).toBe(900);
    expect(dueAt(groups, NY_22 + 15 * 60_000)?.ruleIds).toEqual(['cpc-guard']);
    expect(dueAt(groups, NY_22 + 60_000)).toBeNull();
  });

  it("follows each rule's own zone, DST included (a time in the spring-forward gap never comes)", () => {
    const night = scheduleGroups([rule('two-thirty', 'cron(30 2 * * ? *)')]);
    // 2027-03-14 02:30 does not exist in New York; 2027-03-15 02:30 EDT = 06:30Z.
    const ticks = [];
    for (let t = Date.parse('2027-03-14T05:00:00Z'); t <= Date.parse('2027-03-15T08:00:00Z'); t += 60_000) if (dueAt(night, t)) ticks.push(new Date(t).toISOString());
    expect(ticks).toEqual(['2027-03-15T06:30:00.000Z']);
    // Fall back: 01:30 happens twice on 2026-11-01; it fires once, at the first.
    const fall = scheduleGroups([rule('one-thirty', 'cron(30 1 * * ? *)')]);
    const fallTicks = [];
    for (let t = Date.parse('2026-11-01T04:00:00Z'); t <= Date.parse('2026-11-01T08:00:00Z'); t += 60_000) if (dueAt(fall, t)) fallTicks.push(new Date(t).toISOString());
    expect(fallTicks).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it("narrows to the rules that apply to the org", () => {
    expect(dueAt(groups, NY_22, 60_000, new Set(['cpc-guard']))?.ruleIds).toEqual(['cpc-guard']);
    expect(dueAt(groups, NY_22, 60_000, new Set(['morning']))).toBeNull();
  });
});

describe('the local fleet', () => {
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  const clock = new ManualClock(NY_22);
  const groups = scheduleGroups([rule('daypart-pause', 'cron(0 22 * * ? *)'), rule('cpc-guard', 'rate(15 minutes)')]);

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    store = new AuditStore({ tableName: `fleet-${randomBytes(4).toString('hex')}`, client: dynamo.client, clock });
    await store.ensureTable();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  function fleetOf(engines: Record<string, StandInEngine>, concurrency: number): Fleet & { started: FleetStart[] } {
    const orgs: FleetOrg[] = Object.entries(engines).map(([orgId, engine]) => ({ orgId, accountId: `acct-${orgId}`, engine, groups }));
    const started: FleetStart[] = [];
    return Object.assign(new Fleet({ orgs, store, concurrency, nowMs: () => clock.nowMs(), deadlineMs: () => Date.now() + 60_000, onStart: (x) => started.push(x) }), { started });
  }

  it('runs one cycle per org per tick for all its due rules, claimed per (org, tick)', async () => {
    const engines = { a: new StandInEngine(), b: new StandInEngine() };
    const fleet = fleetOf(engines, 4);
    clock.set(NY_22);
    expect(fleet.tick(NY_22)).toBe(2);
    await fleet.drain();
    for (const engine of Object.values(engines)) {
      expect(engine.requests).toHaveLength(1);
      expect(engine.requests[0]).toMatchObject({ ruleIds: ['cpc-guard', 'daypart-pause'], scheduledTime: NY_22, scheduleId: 'tick' });
    }
  });

  it('keeps at most N cycles in flight, and serves orgs in the order their ticks came', async () => {
    const engines = { a: new StandInEngine({ hold: true }), b: new StandInEngine({ hold: true }), c: new StandInEngine({ hold: true }) };
    const fleet = fleetOf(engines, 2);
    fleet.tick(NY_22);
    await settle();
    expect([engines.a.waiting, engines.b.waiting, engines.c.waiting]).toEqual([1, 1, 0]);
    engines.a.release();
    await settle();
    expect(engines.c.waiting).toBe(1);
    engines.b.release();
    engines.c.release();
    await fleet.drain();
    expect(fleet.started.map((s) => s.orgId)).toEqual(['a', 'b', 'c']);
  });

  it('a slow org delays only itself: its overtaken tick is recorded skipped_stale, the others run every tick', async () => {
    const slow = new StandInEngine({ hold: true });
    const engines = { fast1: new StandInEngine(), slow, fast2: new StandInEngine() };
    const fleet = fleetOf(engines, 2);
    const ticks = [NY_22, NY_22 + 15 * 60_000, NY_22 + 30 * 60_000];
    for (const t of ticks) {
      clock.set(t);
      fleet.tick(t);
      await settle();
    }
    // The fast orgs ran at each tick, on time.
    expect(engines.fast1.requests.map((r) => r.scheduledTime)).toEqual(ticks);
    expect(engines.fast2.requests.map((r) => r.scheduledTime)).toEqual(ticks);
    // The slow org is still in its first cycle; of the two ticks since, the older waited and was overtaken.
    expect(slow.requests.map((r) => r.scheduledTime)).toEqual([ticks[0]]);
    slow.release();
    await settle();
    slow.release();
    await fleet.drain();
    expect(slow.requests.map((r) => r.scheduledTime)).toEqual([ticks[0], ticks[2]]);
    const runs = await store.listRuns('acct-slow', { sinceMs: NY_22 - 86_400_000, untilMs: NY_22 + 86_400_000 });
    const stale = runs.filter((r) => r.status === 'skipped_stale');
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ scheduled_time: new Date(ticks[1]).toISOString(), schedule_id: 'tick', rule_ids: ['cpc-guard'] });
    expect(stale[0]?.errors[0]?.message).toMatch(/newer tick .* came while this one waited/);
    // The fast orgs never started a cycle more than a tick late.
    for (const s of fleet.started.filter((x) => x.orgId !== 'slow')) expect(s.startedAtMs - s.tickMs).toBe(0);
  });

  it('a tick that starts later than its rules\' period is skipped and recorded, not run', async () => {
    const engines = { late: new StandInEngine() };
    const fleet = fleetOf(engines, 1);
    clock.set(NY_22 + 16 * 60_000);
    fleet.tick(NY_22 + 15 * 60_000 - 15 * 60_000);
    await fleet.drain();
    expect(engines.late.requests).toHaveLength(0);
    const runs = await store.listRuns('acct-late', { sinceMs: NY_22 - 86_400_000, untilMs: NY_22 + 86_400_000 });
    expect(runs.map((r) => r.status)).toEqual(['skipped_stale']);
    expect(runs[0]?.errors[0]?.message).toMatch(/Started 960 s after its tick, more than the shortest period of its rules \(900 s\)/);
  });

  it("one org's failure (its key revoked) leaves the others running", async () => {
    const errors: string[] = [];
    const engines = { broken: new StandInEngine({ fail: true }), ok: new StandInEngine() };
    const orgs: FleetOrg[] = Object.entries(engines).map(([orgId, engine]) => ({ orgId, accountId: `acct-${orgId}`, engine, groups }));
    const fleet = new Fleet({ orgs, store, concurrency: 1, nowMs: () => clock.nowMs(), deadlineMs: () => Date.now() + 60_000, onError: (org, _t, e) => errors.push(`${org.orgId}: ${(e as Error).message}`) });
    clock.set(NY_22);
    fleet.tick(NY_22);
    await fleet.drain();
    clock.set(NY_22 + 15 * 60_000);
    fleet.tick(NY_22 + 15 * 60_000);
    await fleet.drain();
    expect(errors).toEqual(['broken: 401 invalid_api_key', 'broken: 401 invalid_api_key']);
    expect(engines.ok.requests).toHaveLength(2);
  });
});
