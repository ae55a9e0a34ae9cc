// Proof under faults: each fault kind injected at 20% of requests over 60 scheduled cycles of the
// example rules on the demo world. Every property is asserted from the sandbox's request log and
// the audit table, not from the engine's own counters.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { AuditStore } from '../../functions/audit/store';
import { Engine } from '../../functions/engine/cycle';
import { MemoryNotifier } from '../../functions/engine/notifier';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { LocalScheduler } from '../../functions/local/scheduler';
import { scheduleGroups } from '../../functions/rules/groups';
import type { Clock } from '../../functions/shared/clock';
import { RequestBudget } from '../../functions/thrad/budget';
import { ThradClient } from '../../functions/thrad/client';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { startSandbox, type FaultKind, type Sandbox } from '../../sandbox/server';
import { exampleRules } from '../helpers/engine';
import { recordingSleep } from '../helpers/sandbox';

const DEMO_KEY = 'ak_sandbox_demo_4f8e2c1b9d';
const STATUS_CALL = /\/(pause|activate|archive)$/;
const CYCLES = 60;

interface FaultRun {
  sandbox: Sandbox;
  store: AuditStore;
  accountId: string;
  crashes: unknown[];
  cycles: number;
}

async function runUnderFaults(kind: FaultKind, dynamo: EmbeddedDynamo): Promise<FaultRun> {
  const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
  const sandbox = await startSandbox({ fixture, port: 0, clockSpeed: 0 });
  const clock = sandbox.world.clock;
  const store = new AuditStore({ tableName: `faults-${kind}-${randomBytes(3).toString('hex')}`, client: dynamo.client, clock });
  await store.ensureTable();
  const rules = exampleRules();
  const engineFor = (realClock?: Clock): Engine =>
    new Engine({
      client: new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(DEMO_KEY), clock, sleep: recordingSleep(), requestTimeoutMs: 120, retry: { maxAttempts: 3 }, budget: new RequestBudget(clock) }),
      store,
      rules,
      notifier: new MemoryNotifier(),
      clock,
      realClock,
    });
  const engine = engineFor();
  sandbox.setFaults({ rate: 0.2, kinds: [kind], seed: 20261124, retry_after_seconds: 2, timeout_hold_ms: 1_000 });
  const crashes: unknown[] = [];
  const scheduler = new LocalScheduler({
    groups: scheduleGroups(rules.rules.map((r) => r.rule)),
    clock,
    wait: (until) => {
      if (until > clock.nowMs()) clock.set(until);
      return Promise.resolve();
    },
    runTick: async (groups, at) => {
      try {
        await engine.runCycle({ ruleIds: groups.flatMap((g) => g.ruleIds), scheduledTime: at, scheduleId: 'tick', deadlineMs: Date.now() + 60_000, trigger: 'local' });
      } catch (error) {
        crashes.push(error);
      }
    },
  });
  const cycles = await scheduler.run(new AbortController().signal, { maxRuns: CYCLES });
  // Calm API, and a later run (leases over) settles what the faults left unconfirmed.
  sandbox.setFaults({ rate: 0 });
  const later = engineFor({ nowMs: () => Date.now() + 3_600_000 });
  await later.runCycle({ ruleIds: ['activate-approved'], scheduledTime: clock.nowMs(), deadlineMs: Date.now() + 3_600_000 + 60_000, trigger: 'local' });
  return { sandbox, store, accountId: fixture.account.id, crashes, cycles };
}

describe.each(['http_500', 'http_503', 'http_429', 'timeout', 'reset', 'malformed_json'] as const)('under %s at 20% of requests', (kind) => {
  let dynamo: EmbeddedDynamo;
  let run: FaultRun;
  let decisions: DecisionRecord[];

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    run = await runUnderFaults(kind, dynamo);
    decisions = await run.store.queryDecisions(run.accountId, { sinceMs: 0, limit: 100_000 });
  }, 120_000);
  afterAll(async () => {
    await run.sandbox.close();
    await dynamo.close();
  });

  it(`ran ${CYCLES} cycles without a crash, with faults actually injected`, () => {
    expect(run.crashes).toEqual([]);
    expect(run.cycles).toBe(CYCLES);
    const faulted = run.sandbox.requests().filter((r) => r.fault === kind);
    expect(faulted.length).toBeGreaterThan(10);
    // The properties below are not vacuous: the demo's behaviours still happened, and some reads failed for good.
    expect(decisions.filter((d) => d.outcome === 'acted').length).toBeGreaterThanOrEqual(5);
    expect(decisions.filter((d) => d.outcome === 'data_unavailable').length).toBeGreaterThanOrEqual(1);
  });

  it('no entity receives two status calls for one occurrence', () => {
    const byId = new Map(decisions.map((d) => [d.decision_id, d]));
    const calls = run.sandbox.requests().filter((r) => r.method === 'POST' && STATUS_CALL.test(r.path));
    expect(calls.length).toBeGreaterThan(0);
    const perOccurrence = new Map<string, Set<string>>();
    for (const call of calls) {
      expect(call.idempotency_key, `${call.path} without an Idempotency-Key`).not.toBeNull();
      const decision = byId.get(call.idempotency_key ?? '');
      expect(decision, `no decision for call ${call.idempotency_key ?? ''}`).toBeDefined();
      const key = `${call.path.replace(STATUS_CALL, '')}@${decision?.scheduled_time ?? ''}`;
      perOccurrence.set(key, (perOccurrence.get(key) ?? new Set()).add(call.idempotency_key ?? ''));
      // Retries of one call may reach the API several times; at most one of them changes anything.
    }
    for (const [occurrence, keys] of perOccurrence) expect(keys.size, occurrence).toBe(1);
    const effective = new Map<string, number>();
    for (const call of calls.filter((c) => c.effect)) effective.set(call.idempotency_key ?? '', (effective.get(call.idempotency_key ?? '') ?? 0) + 1);
    for (const [key, count] of effective) expect(count, key).toBe(1);
  });

  it('the audit trail shows every action the API took, and no action it did not', () => {
    const calls = run.sandbox.requests().filter((r) => r.method === 'POST' && STATUS_CALL.test(r.path));
    const landed = new Set(calls.filter((c) => c.effect).map((c) => c.idempotency_key));
    const acted = decisions.filter((d) => d.outcome === 'acted' && d.action !== 'notify' && d.trigger !== 'undo');
    expect(new Set(acted.map((d) => d.decision_id))).toEqual(landed);
    for (const d of decisions.filter((x) => x.outcome === 'failed')) expect(landed.has(d.decision_id), d.decision_id).toBe(false);
  });

  it('every intent has exactly one outcome', () => {
    expect(decisions.filter((d) => d.outcome === 'pending')).toEqual([]);
    const ids = decisions.map((d) => d.decision_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('no action is taken on a rule whose data was incomplete', () => {
    const unavailable = new Set(decisions.filter((d) => d.outcome === 'data_unavailable').map((d) => `${d.rule_id}@${d.scheduled_time}`));
    const calledFor = decisions.filter((d) => d.api_result?.http_status === 200 || d.outcome === 'acted' || d.outcome === 'failed');
    for (const d of calledFor) expect(unavailable.has(`${d.rule_id}@${d.scheduled_time}`), `${d.rule_id} acted at ${d.scheduled_time} without its data`).toBe(false);
  });

  it('every failure appears in the audit trail and in its run summary', async () => {
    const runs = await run.store.listRuns(run.accountId, { sinceMs: 0, limit: 1_000 });
    expect(runs.length).toBeGreaterThanOrEqual(CYCLES);
    for (const summary of runs) {
      const mine = decisions.filter((d) => d.run_id === summary.run_id);
      for (const outcome of ['failed', 'data_unavailable'] as const) {
        expect(summary.counts[outcome] ?? 0, `${summary.run_id} ${outcome}`).toBe(mine.filter((d) => d.outcome === outcome && d.api_result?.confirmed_by !== 'reconciled').length);
      }
    }
  });
});
