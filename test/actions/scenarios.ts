// One sandbox scenario per action that calls the API, typed over the registry: adding an action
// without a scenario does not compile, and test/actions/status.test.ts runs execute, reconcile and
// undo for each.
import type { ActionName, ThenParams } from '../../functions/actions/registry';
import type { Level } from '../../functions/thrad/wire';
import { eids } from '../helpers/fixtures';

export type CallingAction = Exclude<ActionName, 'notify'>;

export interface Scenario {
  level: Level;
  /** The entity of engineFixture() acted on. */
  entityId: string;
  then: ThenParams;
  before: string;
  after: string;
  /** What undo does: restore `before`, or refuse with this reason. */
  undo: { restores: string } | { refuses: RegExp };
}

export const SCENARIOS: Record<CallingAction, Scenario[]> = {
  pause: [
    { level: 'campaign', entityId: eids.cheap, then: { action: 'pause' }, before: 'active', after: 'paused', undo: { restores: 'active' } },
    { level: 'ad_group', entityId: `${eids.night}-ag`, then: { action: 'pause' }, before: 'active', after: 'paused', undo: { restores: 'active' } },
    { level: 'ad', entityId: `${eids.night}-ad`, then: { action: 'pause' }, before: 'active', after: 'paused', undo: { restores: 'active' } },
  ],
  activate: [{ level: 'campaign', entityId: eids.approved, then: { action: 'activate' }, before: 'paused', after: 'active', undo: { restores: 'paused' } }],
  archive: [{ level: 'campaign', entityId: eids.cheap, then: { action: 'archive' }, before: 'active', after: 'archived', undo: { refuses: /cannot be undone: archiving is final in Thrad/ } }],
};

/** The sandbox tests status.test.ts runs for each calling action (read by the registry meta-test). */
export const SANDBOX_TESTED: Record<CallingAction, string[]> = Object.fromEntries((Object.keys(SCENARIOS) as CallingAction[]).map((name) => [name, SCENARIOS[name].length > 0 ? ['execute', 'reconcile', 'undo'] : []])) as Record<CallingAction, string[]>;
