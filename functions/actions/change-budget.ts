// `change_budget`: a campaign's lifetime budget up or down by a percentage or an amount. An
// increase starts spend (it needs the right to); a decrease stops it. Never below Thrad's minimum
// ($0.99) nor below what the campaign has already spent; set as the whole `budget` object.
import type * as z from 'zod';
import { moneyAction, moneyParams, updatedSnapshot } from './money';

export const changeBudgetParams = moneyParams('change_budget', { value: 'lifetime budget', ceiling: 'the budget never goes above it (a warning suggests one for every increase)', floor: 'the budget never goes below it' }).describe('Change the campaign’s lifetime budget by a percentage or an amount (POST /campaigns/{id} with the whole budget object).');

export const changeBudget = moneyAction<'change_budget', z.infer<typeof changeBudgetParams>>(
  {
    name: 'change_budget',
    cls: 'budget',
    levels: ['campaign'],
    levelHint: 'budgets are set on campaigns (an ad group has a max bid: change_bid)',
    description: 'Change the campaign’s lifetime budget by a percentage or an amount, within max_usd / min_usd, Thrad’s minimum ($0.99), what it has spent, and the engine’s safety limit of one change (default 50% of the current value).',
    noun: 'lifetime budget',
    range: { min: 990_000, minWhy: 'Thrad’s minimum budget', max: Number.MAX_SAFE_INTEGER, maxWhy: 'the largest amount' },
    read: (entity) => entity.budgetMicros,
    floorFromContext: (context) => (context.spentMicros === undefined || context.spentMicros === null ? null : { micros: context.spentMicros, why: 'what it has already spent' }),
    update: async (client, request, target) => updatedSnapshot(request.level, await client.updateCampaign(request.entityId, { budget: { ...(request.entity.budget ?? {}), lifetime_spend_limit_micros: target } }, request.options)),
    exampleCeilingUsd: 2000,
    exampleFloorUsd: 100,
    words: { verb: 'BUDGET', present: 'change the budget of', past: 'changed the budget of' },
  },
  changeBudgetParams,
  { action: 'change_budget', by_percent: 20, max_usd: 2000 },
);
