// An audit that grows with changes: over dynalite and the sandbox, a non-action outcome that recurs
// unchanged is counted (run summary, the rule's ledger, the streak's first record), not written
// again; every change, every action and every forced dry run is written.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { openTally } from '../../functions/audit/repeats';
import type { CycleResult } from '../../functions/engine/cycle';
import type { RuleInput } from '../../functions/rules/schema';
import { ACCOUNT_ID, eids, engineFixture, KEY, T0 } from '../helpers/fixtures';
import { compiledFrom, rig, type Rig } from '../helpers/engine';

const deadline = (): number => Date.now() + 60_000;
const base = { schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'campaign' } as const;
const STEP_S = 15 * 60;

/** Items written to the table, by kind, while `fn` runs (PutItem, UpdateItem, and each item of a BatchWriteItem). */
async function writesDuring<T>(client: DynamoDBClient, fn: () => Promise<T>): Promise<{ result: T; total: number; decisions: number; bySk: Record<string, number> }> {
  const bySk: Record<string, number> = {};
  const note = (sk: unknown): void => {
    const key = typeof sk === 'string' ? sk.replace(/#.*$/, '') : 'other';
    bySk[key] = (bySk[key] ?? 0) + 1;
  };
  const name = `count-writes-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Item?: { sk?: { S?: string } }; Key?: { sk?: { S?: string } }; RequestItems?: Record<string, { PutRequest?: { Item?: { sk?: { S?: string } } } }[]> };
      if (context.commandName === 'PutItemCommand') note(input.Item?.sk?.S);
      if (context.commandName === 'UpdateItemCommand') note(input.Key?.sk?.S);
      if (context.commandName === 'BatchWriteItemCommand') for (const requests of Object.values(input.RequestItems ?? {})) for (const r of requests) note(r.PutRequest?.Item?.sk?.S);
      return next(args);
    },
    { step: 'serialize', name },
  );
  try {
    const result = await fn();
    const total = Object.values(bySk).reduce((a, b) => a + b, 0);
    return { result, total, decisions: bySk.DECISION ?? 0, bySk };
  } finally {
    client.middlewareStack.remove(name);
  }
}

const rules: RuleInput[] = [
  // Dry run, no cooldown: would_act at every occurrence on the expensive campaign.
  { ...base, id: 'dry-cpc', mode: 'dry_run', when: { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }, then: { action: 'pause' } },
  // Dry run on a paused campaign: already_in_state at every occurrence.
  { ...base, id: 'dry-pause-fresh', mode: 'dry_run', scope: { name_contains: 'Fresh' }, when: { field: 'status', op: 'in', value: ['active', 'paused'] }, then: { action: 'pause' } },
  // Dry run with a cooldown: would_act, then skipped_cooldown until the hour has passed.
  { ...base, id: 'dry-cheap-cooldown', mode: 'dry_run', scope: { name_contains: 'Cheap' }, when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, guards: { cooldown: '1h' } },
  // Live: acts once (the night campaign is paused, then no longer matches).
  { ...base, id: 'night-pause', mode: 'live', scope: { name_contains: '[night]' }, when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' } },
  // Live notify without a cooldown: acted (no call) at every occurrence, always written.
  { ...base, id: 'notify-expensive', mode: 'live', when: { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }, then: { action: 'notify' } },
];

describe('repeats: an audit that grows with changes', () => {
  let r: Rig | undefined;
  /** Whether a cycle ran on this rig yet (each later one is the next occurrence, 15 minutes on). */
  let started = false;
  afterEach(async () => {
    await r?.close();
    r = undefined;
    started = false;
  });

  async function cycles(n: number): Promise<{ results: CycleResult[]; writes: { total: number; decisions: number; bySk: Record<string, number> }[] }> {
    const results: CycleResult[] = [];
    const writes: { total: number; decisions: number; bySk: Record<string, number> }[] = [];
    for (let i = 0; i < n; i += 1) {
      const rigged = r as Rig;
      if (started) rigged.sandbox.world.clock.advance(STEP_S);
      started = true;
      const w = await writesDuring(rigged.dynamo.client, () => rigged.engine().runCycle({ deadlineMs: deadline(), scheduledTime: rigged.sandbox.world.clock.nowMs(), trigger: 'schedule' }));
      results.push(w.result);
      writes.push(w);
    }
    return { results, writes };
  }

  const byRule = async (ruleId: string): Promise<DecisionRecord[]> => (r as Rig).store.queryDecisions(ACCOUNT_ID, { ruleId, limit: 1_000 });

  it('a steady cycle writes no decision, only the run summary and its counters; counts still count every outcome', async () => {
    r = await rig(engineFixture(), compiledFrom(rules));
    const { results, writes } = await cycles(3);
    // First: every outcome written (2 dry would_act, 1 already_in_state, 1 pause, 1 notify).
    expect(results[0].summary.counts).toMatchObject({ would_act: 2, already_in_state: 1, acted: 2 });
    expect(await r.store.queryDecisions(ACCOUNT_ID, { runId: results[0].summary.run_id })).toHaveLength(5);
    // Second: the cooldown's skip is new (written), the notify is an action (written), the rest repeat.
    expect(results[1].summary.counts).toMatchObject({ would_act: 1, already_in_state: 1, skipped_cooldown: 1, acted: 1, repeated: 2 });
    expect(writes[1].decisions).toBe(2);
    // Third, identical: only the notify (an action) is written; everything else is counted.
    expect(results[2].summary.counts).toMatchObject({ would_act: 1, already_in_state: 1, skipped_cooldown: 1, acted: 1, repeated: 3 });
    expect(writes[2].decisions).toBe(1);
    expect(results[2].decisions.map((d) => [d.rule_id, d.outcome])).toEqual([['notify-expensive', 'acted']]);
    // Besides that action: the run summary, the rules' run counter and the request ledger; no ledger shard, no entity memory.
    expect(writes[2].bySk).toEqual({ DECISION: 1, SUMMARY: 1, RUNS: 1, [new Date(r.sandbox.world.clock.nowMs() - (r.sandbox.world.clock.nowMs() % 60_000)).toISOString()]: 1 });
    expect(results[2].summary.repeats.sort((a, b) => a.rule_id.localeCompare(b.rule_id))).toEqual([
      { rule_id: 'dry-cheap-cooldown', outcome: 'skipped_cooldown', count: 1, first_seen: new Date((T0 + STEP_S) * 1000).toISOString(), last_seen: new Date((T0 + 2 * STEP_S) * 1000).toISOString() },
      { rule_id: 'dry-cpc', outcome: 'would_act', count: 1, first_seen: new Date(T0 * 1000).toISOString(), last_seen: new Date((T0 + 2 * STEP_S) * 1000).toISOString() },
      { rule_id: 'dry-pause-fresh', outcome: 'already_in_state', count: 1, first_seen: new Date(T0 * 1000).toISOString(), last_seen: new Date((T0 + 2 * STEP_S) * 1000).toISOString() },
    ]);
    const stored = await r.store.getRunSummary(ACCOUNT_ID, results[2].summary.run_id);
    expect(stored?.repeats).toHaveLength(3);
    // Actions are always written: one notify record per occurrence.
    expect((await byRule('notify-expensive')).map((d) => d.outcome)).toEqual(['acted', 'acted', 'acted']);
  });

  it('counts, first and last seen stay right after many cycles; a change is written and closes the streak on its first record', async () => {
    r = await rig(engineFixture(), compiledFrom(rules.filter((x) => x.id === 'dry-cpc')));
    const { results } = await cycles(8);
    const [first, ...rest] = await byRule('dry-cpc');
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ outcome: 'would_act', entity_id: eids.expensive, evaluated_at: new Date(T0 * 1000).toISOString() });
    expect(first.repeats).toBeUndefined();
    const ledger = (await r.store.repeatLedgers(ACCOUNT_ID, ['dry-cpc'])).get('dry-cpc');
    const entry = ledger?.entries.get(eids.expensive);
    expect(entry?.d).toBe(first.decision_id);
    expect(openTally(entry as NonNullable<typeof entry>, ledger as NonNullable<typeof ledger>)).toEqual({ count: 8, first_seen: new Date(T0 * 1000).toISOString(), last_seen: new Date((T0 + 7 * STEP_S) * 1000).toISOString(), open: true });
    expect(results.map((x) => x.summary.counts.would_act)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);

    // A person pauses the campaign: the dry-run pause is now already_in_state, a change, written.
    await fetch(`${r.sandbox.apiUrl}/campaigns/${eids.expensive}/pause`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: '{}' });
    const after = await cycles(2);
    expect(after.results[0].summary.counts).toMatchObject({ already_in_state: 1 });
    expect(after.results[0].summary.counts.repeated).toBeUndefined();
    expect(after.results[1].summary.counts).toMatchObject({ already_in_state: 1, repeated: 1 });
    const trail = await byRule('dry-cpc');
    expect(trail.map((d) => d.outcome)).toEqual(['already_in_state', 'would_act']);
    // The would_act streak's tally is on its first record: 8 times, from T0 to the eighth occurrence.
    expect(trail[1].repeats).toEqual({ count: 8, first_seen: new Date(T0 * 1000).toISOString(), last_seen: new Date((T0 + 7 * STEP_S) * 1000).toISOString(), open: false });
  });

  it('a streak ends when the entity stops matching: the same outcome afterwards is a first occurrence again', async () => {
    r = await rig(engineFixture(), compiledFrom([{ ...base, id: 'dry-active', mode: 'dry_run', scope: { name_contains: 'Cheap' }, when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' } }]));
    await cycles(3);
    const headers = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
    await fetch(`${r.sandbox.apiUrl}/campaigns/${eids.cheap}/pause`, { method: 'POST', headers, body: '{}' });
    await cycles(1); // no match: counted, not recorded; the streak ends
    await fetch(`${r.sandbox.apiUrl}/campaigns/${eids.cheap}/activate`, { method: 'POST', headers, body: '{}' });
    await cycles(2);
    const trail = await byRule('dry-active');
    expect(trail.map((d) => [d.outcome, d.evaluated_at])).toEqual([
      ['would_act', new Date((T0 + 4 * STEP_S) * 1000).toISOString()],
      ['would_act', new Date(T0 * 1000).toISOString()],
    ]);
    expect(trail[1].repeats).toEqual({ count: 3, first_seen: new Date(T0 * 1000).toISOString(), last_seen: new Date((T0 + 2 * STEP_S) * 1000).toISOString(), open: false });
    const ledger = (await r.store.repeatLedgers(ACCOUNT_ID, ['dry-active'])).get('dry-active');
    expect(openTally(ledger?.entries.get(eids.cheap) as NonNullable<ReturnType<NonNullable<typeof ledger>['entries']['get']>>, ledger as NonNullable<typeof ledger>)).toMatchObject({ count: 2, open: true });
  });

  it("dry-run cooldowns still hold: the cooldown's skips are counted, and its expiry is written", async () => {
    r = await rig(engineFixture(), compiledFrom(rules.filter((x) => x.id === 'dry-cheap-cooldown')));
    const { results } = await cycles(7);
    // 0: would_act, 15–45 min: cooldown, 60 min: would_act again, 75–90 min: cooldown again.
    expect(results.map((x) => Object.keys(x.summary.counts).filter((k) => k === 'would_act' || k === 'skipped_cooldown'))).toEqual([['would_act'], ['skipped_cooldown'], ['skipped_cooldown'], ['skipped_cooldown'], ['would_act'], ['skipped_cooldown'], ['skipped_cooldown']]);
    const trail = (await byRule('dry-cheap-cooldown')).reverse();
    expect(trail.map((d) => [d.outcome, d.evaluated_at.slice(11, 16)])).toEqual([
      ['would_act', '15:00'],
      ['skipped_cooldown', '15:15'],
      ['would_act', '16:00'],
      ['skipped_cooldown', '16:15'],
    ]);
    expect(trail[1].repeats).toMatchObject({ count: 3, open: false });
  });

  it('a run forced to dry run writes every decision and leaves the ledgers alone', async () => {
    r = await rig(engineFixture(), compiledFrom(rules.filter((x) => x.id === 'dry-cpc')));
    await cycles(2);
    const before = await r.store.repeatLedgers(ACCOUNT_ID, ['dry-cpc']);
    for (let i = 0; i < 2; i += 1) {
      r.sandbox.world.clock.advance(STEP_S);
      const forced = await r.engine().runCycle({ deadlineMs: deadline(), mode: 'dry_run', scheduledTime: r.sandbox.world.clock.nowMs() });
      expect(forced.decisions.map((d) => d.outcome)).toEqual(['would_act']);
      expect(forced.summary.repeats).toEqual([]);
    }
    expect(await r.store.repeatLedgers(ACCOUNT_ID, ['dry-cpc'])).toEqual(before);
    expect((await byRule('dry-cpc')).map((d) => d.mode)).toEqual(['dry_run', 'dry_run', 'dry_run']);
  });

  it('another run of the same rules counting at the same time empties their ledger: the next run writes afresh', async () => {
    r = await rig(engineFixture(), compiledFrom(rules.filter((x) => x.id === 'dry-cpc')));
    await cycles(2);
    // A concurrent run counted in between: the run count is not what this run read.
    const store = r.store;
    const original = store.repeatLedgers.bind(store);
    store.repeatLedgers = async (accountId, ruleIds) => {
      const read = await original(accountId, ruleIds);
      await store.countRuleRuns(accountId, ruleIds ?? [], r?.sandbox.world.clock.nowMs() ?? 0);
      return read;
    };
    await cycles(1);
    store.repeatLedgers = original;
    expect((await store.repeatLedgers(ACCOUNT_ID, ['dry-cpc'])).get('dry-cpc')?.entries.size).toBe(0);
    await cycles(1);
    expect((await byRule('dry-cpc')).map((d) => d.outcome)).toEqual(['would_act', 'would_act']);
  });
});
