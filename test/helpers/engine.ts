// A whole engine on loopback for tests: the sandbox, an in-process dynalite, the audit table,
// a client that follows the sandbox clock, and the rule set.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { AuditStore } from '../../functions/audit/store';
import { Engine, type EngineDeps } from '../../functions/engine/cycle';
import { MemoryNotifier } from '../../functions/engine/notifier';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { compileRuleSet, type CompiledRuleSet } from '../../functions/rules/compile';
import type { Rule } from '../../functions/rules/schema';
import { loadRules, ruleVersion } from '../../functions/rules/validate';
import type { Sandbox } from '../../sandbox/server';
import type { FixtureInput } from '../../sandbox/fixture';
import { clientFor, withSandbox } from './sandbox';

export const RULES_DIR = resolve(__dirname, '..', '..', 'rules');

export function exampleRules(): CompiledRuleSet {
  const loaded = loadRules([RULES_DIR]);
  if (loaded.issues.some((i) => i.severity === 'error')) throw new Error(`example rules invalid: ${JSON.stringify(loaded.issues)}`);
  return compileRuleSet(loaded.rules);
}

export function compiledFrom(rules: Rule[]): CompiledRuleSet {
  return compileRuleSet(rules.map((rule) => ({ rule, file: 'test.json', index: null, version: ruleVersion(rule) })));
}

export interface Rig {
  sandbox: Sandbox;
  dynamo: EmbeddedDynamo;
  store: AuditStore;
  notifier: MemoryNotifier;
  engine(overrides?: Partial<EngineDeps>): Engine;
  close(): Promise<void>;
}

export async function rig(fixture: FixtureInput, rules: CompiledRuleSet, options: { key?: string } = {}): Promise<Rig> {
  const sandbox = await withSandbox(fixture);
  const dynamo = await startEmbeddedDynamo();
  const store = new AuditStore({ tableName: `audit-${randomBytes(4).toString('hex')}`, client: dynamo.client, clock: sandbox.world.clock });
  await store.ensureTable();
  const notifier = new MemoryNotifier();
  return {
    sandbox,
    dynamo,
    store,
    notifier,
    engine: (overrides = {}) =>
      new Engine({
        client: clientFor(sandbox, options.key ? { keyProvider: { source: 'test', getKey: () => Promise.resolve(options.key as string), refresh: () => Promise.resolve(options.key as string) } } : {}),
        store,
        rules,
        notifier,
        clock: sandbox.world.clock,
        ...overrides,
      }),
    close: async () => {
      await sandbox.close();
      await dynamo.close();
    },
  };
}
