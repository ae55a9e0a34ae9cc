// The action registry, walked: every action has its schema entry in the rule language (and in
// rules/schema.json), a description and wording, levels the validator enforces, and a sandbox test
// of execute, reconcile and undo (test/actions/sandbox.test.ts). Adding an action without them fails here.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTION_NAMES, ACTIONS, actionsAt, thenSchema } from '../../functions/actions/registry';
import { CONFLICT_CLASSES } from '../../functions/actions/types';
import { ruleSchema } from '../../functions/rules/schema';
import { LEVELS } from '../../functions/thrad/wire';
import { validateRuleText } from '../../functions/rules/validate';
import { SANDBOX_TESTED, type CallingAction } from './scenarios';

const ROOT = resolve(__dirname, '..', '..');

describe('the action registry', () => {
  const schemaText = readFileSync(resolve(ROOT, 'rules', 'schema.json'), 'utf8');

  it.each(ACTION_NAMES)('%s: a schema entry, a description, wording, levels, and a conflict class', (name) => {
    const def = ACTIONS[name];
    expect(def.name).toBe(name);
    expect(def.example.action).toBe(name);
    expect(thenSchema.safeParse(def.example).success).toBe(true);
    expect(ruleSchema.shape.then.safeParse(def.example).success).toBe(true);
    expect(schemaText).toContain(`"const": "${name}"`);
    expect(def.description.length).toBeGreaterThan(20);
    expect(def.words.verb).toBe(def.words.verb.toUpperCase());
    expect(def.words.past).not.toBe('');
    expect(def.levels.length).toBeGreaterThan(0);
    for (const level of def.levels) expect(LEVELS).toContain(level);
    expect(CONFLICT_CLASSES).toContain(def.conflictClass);
    expect(def.schema.safeParse(def.example).success).toBe(true);
    for (const key of Object.keys(def.example)) expect(schemaText, `${name}.${key} in rules/schema.json`).toContain(`"${key}"`);
  });

  it.each(ACTION_NAMES)('%s: every action that calls the API has its sandbox tests of execute, reconcile and undo', (name) => {
    if (!ACTIONS[name].calls) return;
    expect(SANDBOX_TESTED[name as CallingAction]).toEqual(expect.arrayContaining(['execute', 'reconcile', 'undo']));
  });

  it.each(ACTION_NAMES.flatMap((name) => LEVELS.map((level) => [name, level] as const)))('the validator allows %s at %s level exactly when the registry does', (name, level) => {
    const rule = { id: 'r1', mode: 'live', schedule: { expression: 'rate(1 hour)' }, level, when: { field: 'status', op: 'eq', value: 'active' }, then: ACTIONS[name].example };
    const { rules, issues } = validateRuleText(JSON.stringify(rule), 'r1.json');
    expect(rules.length === 1, JSON.stringify(issues)).toBe(actionsAt(level).includes(name));
  });

  it('an unknown parameter of an action is refused by its own schema', () => {
    for (const name of ACTION_NAMES) expect(thenSchema.safeParse({ ...ACTIONS[name].example, frobnicate: 5 }).success).toBe(false);
  });
});
