// `change_bid`: an ad group's max bid up or down by a percentage or an amount, within Thrad's
// range ($0.000001–$100). An increase starts spend (it needs the right to); a decrease stops it.
import type * as z from 'zod';
import { moneyAction, moneyParams, updatedSnapshot } from './money';

export const changeBidParams = moneyParams('change_bid', { value: 'max bid', ceiling: 'the bid never goes above it', floor: 'the bid never goes below it' }).describe('Change the ad group’s max bid (bidding_config.max_bid_micros) by a percentage or an amount (POST /ad_groups/{id}).');

export const changeBid = moneyAction<'change_bid', z.infer<typeof changeBidParams>>(
  {
    name: 'change_bid',
    cls: 'bid',
    levels: ['ad_group'],
    levelHint: 'bids are set on ad groups (bidding_config.max_bid_micros)',
    description: 'Change the ad group’s max bid by a percentage or an amount, within max_usd / min_usd, Thrad’s range ($0.000001–$100) and the engine’s safety limit of one change (default 50% of the current value). An ad group with no max bid is left alone.',
    noun: 'max bid',
    range: { min: 1, minWhy: 'Thrad’s smallest bid', max: 100_000_000, maxWhy: 'Thrad’s largest bid, $100' },
    read: (entity) => entity.maxBidMicros,
    update: async (client, request, target) => updatedSnapshot(request.level, await client.updateAdGroup(request.entityId, { bidding_config: { max_bid_micros: target } }, request.options)),
    exampleCeilingUsd: 5,
    exampleFloorUsd: 0.5,
    words: { verb: 'BID', present: 'change the bid of', past: 'changed the bid of' },
  },
  changeBidParams,
  { action: 'change_bid', by_percent: -10, min_usd: 0.5 },
);
