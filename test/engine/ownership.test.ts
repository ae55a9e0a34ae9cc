// Who holds an entity's status, as tables: from the entity as read now and the engine's memory.
import { describe, expect, it } from 'vitest';
import type { EntitySnapshot } from '../../functions/actions/types';
import type { EntityMemory, Holder } from '../../functions/audit/records';
import { describeExplanation } from '../../functions/engine/describe';
import { observation, statusHolder } from '../../functions/engine/ownership';

const AT = Date.parse('2026-11-20T03:00:00Z');
const entity = (overrides: Partial<EntitySnapshot> = {}): EntitySnapshot => ({ level: 'campaign', id: 'c1', status: 'paused', reviewStatus: 'approved', updatedAt: 1_795_143_000, createdAt: 1_795_000_000, ...overrides });
const byRule: Holder = { kind: 'rule', rule_id: 'daypart-pause', priority: 10, intent: 'paused', by: 'change', decision_id: 'd1', at_ms: AT };
const memory = (seen: EntitySnapshot, holder: Holder = byRule): EntityMemory => ({ entityId: seen.id, observed: observation(seen, AT), holders: { status: holder }, acted: new Map(), wouldAct: new Map(), forcedWouldAct: new Map() });

describe('statusHolder', () => {
  it.each([
    ['no memory, unchanged since creation: nobody', entity({ updatedAt: 1_795_000_000 }), undefined, 'creation'],
    ['no memory, changed since creation: cannot tell', entity(), undefined, 'unknown'],
    ['no memory, no updated_at: cannot tell', entity({ updatedAt: null, createdAt: null, level: 'ad' }), undefined, 'unknown'],
    ['as the engine left it: its holder', entity(), memory(entity()), 'rule'],
    ['status changed without the engine: a person', entity({ status: 'active' }), memory(entity()), 'person'],
    ['updated_at moved, same status: a person (a toggle cannot be ruled out)', entity({ updatedAt: 1_795_143_900 }), memory(entity()), 'person'],
    ['updated_at moved with a review verdict: still its holder', entity({ updatedAt: 1_795_143_900 }), memory(entity({ reviewStatus: 'in_review' }), { kind: 'creation' }), 'creation'],
    ['no updated_at now: a change cannot be ruled out', entity({ updatedAt: null, level: 'ad' }), memory(entity({ level: 'ad' })), 'unknown'],
    ['no updated_at, a person held it: still a person', entity({ updatedAt: null, level: 'ad' }), memory(entity({ updatedAt: null, level: 'ad' }), { kind: 'person', at_ms: AT, detail: 'x' }), 'person'],
  ] as const)('%s', (_name, now, mem, kind) => {
    expect(statusHolder(now, mem).kind).toBe(kind);
  });

  it('says what changed', () => {
    expect(statusHolder(entity({ status: 'active', updatedAt: 1_795_150_000 }), memory(entity()))).toEqual({ kind: 'person', at_ms: 1_795_150_000_000, detail: 'its status went from paused to active without the autopilot (updated_at 2026-11-20T04:46:40.000Z)' });
  });
});

describe('explanations name the leaves that decided', () => {
  it('including those under a not (shown as not (...))', () => {
    const explanation = {
      kind: 'all',
      result: 'match',
      children: [
        { kind: 'field', result: 'match', field: 'status', op: 'eq', threshold: 'active', observed: 'active' },
        { kind: 'not', result: 'match', child: { kind: 'field', result: 'no_match', field: 'name', op: 'contains', threshold: '[keep]', observed: 'Trail Runners' } },
        { kind: 'not', result: 'match', child: { kind: 'any', result: 'no_match', children: [{ kind: 'metric', result: 'no_match', metric: 'clicks', window: 'today', op: 'gt', threshold: 100, observed: 40 }] } },
      ],
    };
    expect(describeExplanation(explanation, 'match')).toBe('status "active", not (name "Trail Runners"), not (clicks over today 40 > 100)');
  });
});
