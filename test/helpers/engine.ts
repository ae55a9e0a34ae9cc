// A whole engine on loopback for tests: the sandbox, an in-process dynalite, the audit table,
// a client that follows the sandbox clock, and the rule set.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { AuditStore } from '../../functions/audit/store';
import { Engine, type EngineDeps } from '../../functions/engine/cycle';
import { MemoryNotifier } from '../../functions/engine/notifier';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { compileRuleSet, type CompiledRuleSet } from '../../functions/rules/compile';
import { ruleSchema, type Rule, type RuleInput } from '../../functions/rules/schema';
import { loadRules, ruleVersion } from '../../functions/rules/validate';
import { systemClock, type Clock } from '../../functions/shared/clock';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import type { FixtureInput } from '../../sandbox/fixture';
import type { Sandbox } from '../../sandbox/server';
import { KEY } from './fixtures';
import { clientFor, withSandbox } from './sandbox';

export const RULES_DIR = resolve(__dirname, '..', '..', 'rules');

export function exampleRules(): CompiledRuleSet {
  const loaded = loadRules([RULES_DIR]);
  if (loaded.issues.some((i) => i.severity === 'error')) throw new Error(`example rules invalid: ${JSON.stringify(loaded.issues)}`);
  return compileRuleSet(loaded.rules);
}

export function compiledFrom(rules: RuleInput[]): CompiledRuleSet {
  const parsed: Rule[] = rules.map((r) => ruleSchema.parse(r));
  return compileRuleSet(parsed.map((rule) => ({ rule, file: `${rule.id}.json`, index: null, version: ruleVersion(rule) })));
}

const base = { mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'campaign' } as const;

/** The engine tests' rules, matching engineFixture(). */
export function engineRules(overrides: Partial<Record<string, Partial<RuleInput>>> = {}): CompiledRuleSet {
  return compiledFrom(engineRuleInputs(overrides));
}

/** The engine rules without cooldowns: each occurrence on a fresh world acts the same (crash and fuzz rounds). */
export function rulesWithoutCooldowns(): CompiledRuleSet {
  return engineRules({ 'pause-expensive': { guards: { min_data: { clicks: 10 } } }, 'activate-approved': { guards: {} } });
}

export function engineRuleInputs(overrides: Partial<Record<string, Partial<RuleInput>>> = {}): RuleInput[] {
  return [
    {
      ...base,
      id: 'pause-expensive',
      when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }] },
      then: { action: 'pause' },
      guards: { min_data: { clicks: 10 }, cooldown: '6h' },
      priority: 10,
      ...overrides['pause-expensive'],
    },
    {
      ...base,
      id: 'activate-approved',
      when: { all: [{ field: 'review_status', op: 'eq', value: 'approved' }, { field: 'status', op: 'eq', value: 'paused' }, { metric: 'impressions', window: 'lifetime', op: 'eq', value: 0 }] },
      then: { action: 'activate' },
      guards: { cooldown: 'forever' },
      ...overrides['activate-approved'],
    },
    {
      ...base,
      id: 'night-pause',
      scope: { name_contains: '[night]' },
      when: { field: 'status', op: 'eq', value: 'active' },
      then: { action: 'pause' },
      ...overrides['night-pause'],
    },
  ];
}

export interface Rig {
  sandbox: Sandbox;
  dynamo: EmbeddedDynamo;
  /** The audit store (a new table after `restart`). */
  readonly store: AuditStore;
  notifier: MemoryNotifier;
  engine(overrides?: Partial<EngineDeps>): Engine;
  /**
   * A fresh world and a fresh audit table: the engine's memory of entities belongs to one world,
   * so a test that starts the world over starts the memory over too.
   */
  restart(fixture: FixtureInput): Promise<void>;
  close(): Promise<void>;
}

export async function rig(fixture: FixtureInput, rules: CompiledRuleSet, options: { realClock?: Clock } = {}): Promise<Rig> {
  const sandbox = await withSandbox(fixture);
  const dynamo = await startEmbeddedDynamo();
  const realClock = options.realClock ?? systemClock;
  const newStore = async (): Promise<AuditStore> => {
    const fresh = new AuditStore({ tableName: `audit-${randomBytes(4).toString('hex')}`, client: dynamo.client, clock: sandbox.world.clock, realClock });
    await fresh.ensureTable();
    return fresh;
  };
  let store = await newStore();
  const notifier = new MemoryNotifier();
  return {
    sandbox,
    dynamo,
    get store() {
      return store;
    },
    notifier,
    restart: async (fixture) => {
      sandbox.reset(fixture);
      store = await newStore();
    },
    engine: (overrides = {}) =>
      new Engine({
        client: clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(KEY) }),
        store,
        rules,
        notifier,
        clock: sandbox.world.clock,
        realClock,
        ...overrides,
      }),
    close: async () => {
      await sandbox.close();
      await dynamo.close();
    },
  };
}

/** Status calls (pause/activate/archive) the sandbox received, as `METHOD path effect`. */
/** Every write call the engine made (status endpoints and updates), with whether it changed the world. */
export function writeCalls(sandbox: Sandbox): { path: string; effect: boolean; status: number | null }[] {
  return sandbox
    .requests()
    .filter((r) => r.method === 'POST' && /^\/v1\/(campaigns|ad_groups|ads)\/[^/]+(\/(activate|pause|archive))?$/.test(r.path))
    .map((r) => ({ path: r.path, effect: r.effect, status: r.status }));
}

export function statusCalls(sandbox: Sandbox): { path: string; effect: boolean; status: number | null; idempotency: string | null }[] {
  return sandbox
    .requests()
    .filter((r) => r.method === 'POST' && /\/(activate|pause|archive)$/.test(r.path))
    .map((r) => ({ path: r.path, effect: r.effect, status: r.status, idempotency: r.idempotency_key }));
}
