// The action registry: every action a rule can take, one definition each (its own module). The
// rule schema's `then`, the validator, the policy, the engine's intents, reconciliation, undo, the
// records' wording and the CLI all read from here; test/actions/registry.test.ts walks it.
import * as z from 'zod';
import type { Level } from '../thrad/wire';
import { activate, activateParams } from './activate';
import { archive, archiveParams } from './archive';
import { changeBid, changeBidParams } from './change-bid';
import { changeBudget, changeBudgetParams } from './change-budget';
import { notify, notifyParams } from './notify';
import { pause, pauseParams } from './pause';
import type { ActionDefinition } from './types';

export const ACTIONS = { pause, activate, archive, notify, change_budget: changeBudget, change_bid: changeBid } as const;
export type ActionName = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

/** The rule's `then`: a discriminated union on `action`, one member per registry entry. */
export const thenSchema = z.discriminatedUnion('action', [pauseParams, activateParams, archiveParams, notifyParams, changeBudgetParams, changeBidParams]);
export type ThenParams = z.infer<typeof thenSchema>;

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(ACTIONS, name);
}

export function actionDefinition(name: ActionName): ActionDefinition {
  return ACTIONS[name];
}

/** Actions available at a level. */
export function actionsAt(level: Level): ActionName[] {
  return ACTION_NAMES.filter((name) => (ACTIONS[name].levels).includes(level));
}

/** The rules this `then` may resume whatever their priority (activate's only_if_paused_by). */
export function onlyIfPausedBy(then: ThenParams): readonly string[] | undefined {
  return then.action === 'activate' ? then.only_if_paused_by : undefined;
}
