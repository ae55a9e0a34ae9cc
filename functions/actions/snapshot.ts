// API resources (campaign, ad group, ad) as the engine and the actions see them: the fields
// decisions depend on, with their units, whatever the level.
import type { Ad, AdGroup, Campaign } from '../thrad/schemas';
import type { Level } from '../thrad/wire';
import type { EntitySnapshot } from './types';

export function snapshotOf(level: Level, resource: Campaign | AdGroup | Ad): EntitySnapshot {
  return {
    level,
    id: resource.id,
    status: resource.status,
    reviewStatus: 'review_status' in resource ? resource.review_status : null,
    updatedAt: resource.updated_at ?? null,
    createdAt: resource.created_at ?? null,
    budgetMicros: 'budget' in resource ? resource.budget.lifetime_spend_limit_micros : null,
    budget: 'budget' in resource ? { ...resource.budget } : null,
    maxBidMicros: 'bidding_config' in resource ? (resource.bidding_config?.max_bid_micros ?? null) : null,
  };
}
