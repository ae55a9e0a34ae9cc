// The local fleet end to end: three organizations of one generated sandbox world, each with its own
// key, account and request ledger, run by real engines against dynalite. One org's key is refused
// (its cycles fail, named); another's hour is nearly spent (it runs what it can and records the rest
// as request_budget_exceeded); the third is untouched by either. Nothing of one org lands under
// another's account.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { Engine, type CycleResult } from '../../functions/engine/cycle';
import { MemoryNotifier } from '../../functions/engine/notifier';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { Fleet, type FleetOrg } from '../../functions/local/fleet';
import { compileRuleSet } from '../../functions/rules/compile';
import { scheduleGroups } from '../../functions/rules/groups';
import { loadRules } from '../../functions/rules/validate';
import { keyFingerprint } from '../../functions/shared/secrets';
import { ThradClient } from '../../functions/thrad/client';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { generateFixture } from '../../sandbox/generate';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { recordingSleep } from '../helpers/sandbox';

/** 2026-11-24T03:00:00Z: 22:00 in New York, where every shipped schedule coincides. */
const TICK = Date.parse('2026-11-24T03:00:00Z');

describe('the local fleet against a sandbox of many organizations', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  const results = new Map<string, CycleResult[]>();
  const errors: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: generateFixture({ orgs: 3, campaigns: 20, seed: 3, now: TICK / 1000 - 60 }), port: 0, clockSpeed: 0 });
    sandbox.world.clock.set(TICK);
    dynamo = await startEmbeddedDynamo();
    const clock = sandbox.world.clock;
    store = new AuditStore({ tableName: `fleet-${randomBytes(4).toString('hex')}`, client: dynamo.client, clock });
    await store.ensureTable();
    const rules = compileRuleSet(loadRules([resolve(__dirname, '..', '..', 'rules')]).rules);
    const groups = scheduleGroups(rules.rules.map((r) => r.rule));
    const [a, b, c] = sandbox.world.orgs;
    if (!a || !b || !c) throw new Error('three orgs expected');
    // b's hour is nearly spent by another process of the same deployment (its ledger says so).
    const keyB = b.keys[0]?.key ?? '';
    await store.recordRequests(b.account.id, keyFingerprint(keyB), 'another-process', new Map([[Math.floor(TICK / 60_000) * 60_000 - 60_000, 998]]));
    const orgs: FleetOrg[] = ([
      { orgId: 'healthy', key: a.keys[0]?.key ?? '', account: a.account.id },
      { orgId: 'nearly-spent', key: keyB, account: b.account.id },
      { orgId: 'revoked', key: 'ak_revoked_0000000000', account: c.account.id },
    ] as const).map((o) => {
      const client = new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(o.key), clock, sleep: recordingSleep(), listPageSize: 500 });
      return { orgId: o.orgId, accountId: o.account, groups, engine: new Engine({ client, store, rules, notifier: new MemoryNotifier(), clock, accountId: o.account }) };
    });
    const fleet = new Fleet({
      orgs,
      store,
      concurrency: 2,
      nowMs: () => clock.nowMs(),
      deadlineMs: () => Date.now() + 60_000,
      onCycle: (org, _t, result) => results.set(org.orgId, [...(results.get(org.orgId) ?? []), result]),
      onError: (org, _t, error) => errors.push(`${org.orgId}: ${(error as Error).message}`),
    });
    expect(fleet.tick(TICK)).toBe(3);
    await fleet.drain();
  }, 60_000);
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it('runs every org once at the tick, each with every rule due', () => {
    for (const id of ['healthy', 'nearly-spent', 'revoked']) {
      const [only] = results.get(id) ?? [];
      expect(only?.summary.rule_ids.length, id).toBeGreaterThanOrEqual(6);
      expect(only?.summary.schedule_id).toBe('tick');
    }
    expect(errors).toEqual([]);
  });

  it("a refused key leaves that org's rules data_unavailable (invalid_api_key), acting on nothing, and no other org's", async () => {
    const revoked = results.get('revoked')?.[0]?.summary;
    expect(revoked?.counts.acted ?? 0).toBe(0);
    expect(revoked?.counts.data_unavailable).toBe(revoked?.rule_ids.length);
    const [, , c] = sandbox.world.orgs;
    const unavailable = await store.queryDecisions(c?.account.id ?? '', { outcome: 'data_unavailable' });
    expect(unavailable.length).toBe(revoked?.rule_ids.length);
    for (const d of unavailable) expect(d.reason).toMatch(/invalid_api_key/);
    const healthy = results.get('healthy')?.[0]?.summary;
    expect(healthy?.status).toBe('completed');
    expect(healthy?.counts.data_unavailable ?? 0).toBe(0);
  });

  it('a nearly spent hour runs what it can and records the rest as request_budget_exceeded, for that org only', async () => {
    const spent = results.get('nearly-spent')?.[0]?.summary;
    expect(spent?.status).toBe('completed');
    expect(spent?.api_requests).toBeLessThanOrEqual(2);
    const [, b] = sandbox.world.orgs;
    const unavailable = await store.queryDecisions(b?.account.id ?? '', { outcome: 'data_unavailable' });
    expect(unavailable.length).toBeGreaterThan(0);
    for (const d of unavailable) expect(d.api_result?.error_code).toBe('request_budget_exceeded');
    const healthy = results.get('healthy')?.[0]?.summary;
    expect(healthy?.counts.data_unavailable ?? 0).toBe(0);
    expect(healthy?.api_requests).toBeGreaterThan(2);
  });

  it("keeps every org's records under its own account, about its own campaigns", async () => {
    const [a, b, c] = sandbox.world.orgs;
    for (const org of [a, b, c]) {
      const records = await store.queryDecisions(org?.account.id ?? '', { sinceMs: 0, limit: 10_000 });
      for (const r of records) expect(r.account_id).toBe(org?.account.id);
    }
    const aRecords = await store.queryDecisions(a?.account.id ?? '', { sinceMs: 0, limit: 10_000 });
    const aEntities = new Set([...sandbox.world.campaigns.values()].filter((x) => x.org === 0).map((x) => x.id));
    for (const r of aRecords.filter((x) => x.level === 'campaign')) expect(aEntities.has(r.entity_id), r.entity_id).toBe(true);
  });
});
