// One sandbox scenario per action that calls the API, typed over the registry: adding an action
// without a scenario does not compile, and test/actions/sandbox.test.ts runs execute, reconcile and
// undo for each.
import type { ActionName, ThenParams } from '../../functions/actions/registry';
import type { Condition } from '../../functions/rules/schema';
import type { Level } from '../../functions/thrad/wire';
import { eids } from '../helpers/fixtures';

export type CallingAction = Exclude<ActionName, 'notify'>;

export interface Scenario {
  level: Level;
  /** The entity of engineFixture() acted on. */
  entityId: string;
  then: ThenParams;
  /** The value the action changes, before and after: a status, or integer micros. */
  before: string | number;
  after: string | number;
  /** The rule's condition (default: status eq `before`). */
  when?: Condition;
  /** What undo does: restore `before`, or refuse with this reason. */
  undo: { restores: string | number } | { refuses: RegExp };
}

const active: Condition = { field: 'status', op: 'eq', value: 'active' };
const TEN_THOUSAND_USD = 10_000_000_000;
const TWO_USD = 2_000_000;

export const SCENARIOS: Record<CallingAction, Scenario[]> = {
  pause: [
    { level: 'campaign', entityId: eids.cheap, then: { action: 'pause' }, before: 'active', after: 'paused', undo: { restores: 'active' } },
    { level: 'ad_group', entityId: `${eids.night}-ag`, then: { action: 'pause' }, before: 'active', after: 'paused', undo: { restores: 'active' } },
    { level: 'ad', entityId: `${eids.night}-ad`, then: { action: 'pause' }, before: 'active', after: 'paused', undo: { restores: 'active' } },
  ],
  activate: [{ level: 'campaign', entityId: eids.approved, then: { action: 'activate' }, before: 'paused', after: 'active', undo: { restores: 'paused' } }],
  archive: [{ level: 'campaign', entityId: eids.cheap, then: { action: 'archive' }, before: 'active', after: 'archived', undo: { refuses: /cannot be undone: archiving is final in Thrad/ } }],
  change_budget: [
    // +20% of $10,000 within the ceiling: $12,000.
    { level: 'campaign', entityId: eids.cheap, when: active, then: { action: 'change_budget', by_percent: 20, max_usd: 20_000 }, before: TEN_THOUSAND_USD, after: 12_000_000_000, undo: { restores: TEN_THOUSAND_USD } },
    // −$2,000: $8,000.
    { level: 'campaign', entityId: eids.expensive, when: active, then: { action: 'change_budget', by_usd: -2_000, min_usd: 500 }, before: TEN_THOUSAND_USD, after: 8_000_000_000, undo: { restores: TEN_THOUSAND_USD } },
  ],
  change_bid: [
    // −10% of $2: $1.80.
    { level: 'ad_group', entityId: `${eids.cheap}-ag`, when: active, then: { action: 'change_bid', by_percent: -10, min_usd: 0.5 }, before: TWO_USD, after: 1_800_000, undo: { restores: TWO_USD } },
    // +$0.50 with a ceiling of $2.40: $2.40.
    { level: 'ad_group', entityId: `${eids.night}-ag`, when: active, then: { action: 'change_bid', by_usd: 0.5, max_usd: 2.4 }, before: TWO_USD, after: 2_400_000, undo: { restores: TWO_USD } },
  ],
};

/** The sandbox tests sandbox.test.ts runs for each calling action (read by the registry meta-test). */
export const SANDBOX_TESTED: Record<CallingAction, string[]> = Object.fromEntries((Object.keys(SCENARIOS) as CallingAction[]).map((name) => [name, SCENARIOS[name].length > 0 ? ['execute', 'reconcile', 'undo'] : []])) as Record<CallingAction, string[]>;
