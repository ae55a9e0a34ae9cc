// Entities as the rules see them: built from API resources and the insights totals of each
// window. An entity with no insights row in a window (after a successful read) had no delivery
// there: its counts are 0 and its ratios are insufficient data.
import type { EntitySnapshot } from '../actions/types';
import type { Ad, AdGroup, Campaign } from '../thrad/schemas';
import type { EntityStatus } from '../thrad/wire';
import type { EntityFacts, FactsLayout } from './compile';

/** One entity of any level, with what decisions record about it (and its parents' status). */
export interface EntityRecord extends EntitySnapshot {
  name: string;
  budgetMicros?: number | null;
  /** Unix seconds. */
  startTime: number | null;
  endTime: number | null;
  campaignId: string;
  adGroupId: string | null;
  /** The campaign's status (ad groups and ads: they deliver only while it is active). */
  campaignStatus: EntityStatus | null;
  /** The ad group's status (ads). */
  adGroupStatus: EntityStatus | null;
  /** How it was read: a list call (with timestamps), or an insights row with metadata (none). */
  listedBy?: 'list' | 'insights';
}

export interface WindowTotals {
  impressions: number;
  clicks: number;
  spendUsd: number;
}

export function campaignEntity(c: Campaign): EntityRecord {
  return {
    level: 'campaign',
    id: c.id,
    name: c.name,
    status: c.status,
    reviewStatus: c.review_status,
    budgetMicros: c.budget.lifetime_spend_limit_micros,
    startTime: c.start_time,
    endTime: c.end_time,
    campaignId: c.id,
    adGroupId: null,
    updatedAt: c.updated_at,
    createdAt: c.created_at,
    campaignStatus: null,
    adGroupStatus: null,
  };
}

export function adGroupEntity(g: AdGroup, campaign: Campaign): EntityRecord {
  return {
    level: 'ad_group',
    id: g.id,
    name: g.name,
    status: g.status,
    reviewStatus: null,
    budgetMicros: null,
    maxBidMicros: g.bidding_config?.max_bid_micros ?? null,
    startTime: campaign.start_time,
    endTime: campaign.end_time,
    campaignId: g.campaign_id,
    adGroupId: g.id,
    updatedAt: g.updated_at ?? null,
    createdAt: g.created_at ?? null,
    campaignStatus: campaign.status,
    adGroupStatus: null,
  };
}

export function adEntity(a: Ad, group: AdGroup, campaign: Campaign): EntityRecord {
  // An ad's review verdict is its campaign's (fact sheet §2.9).
  return {
    level: 'ad',
    id: a.id,
    name: a.name,
    status: a.status,
    reviewStatus: a.review_status,
    budgetMicros: null,
    startTime: campaign.start_time,
    endTime: campaign.end_time,
    campaignId: group.campaign_id,
    adGroupId: a.ad_group_id,
    updatedAt: a.updated_at ?? null,
    createdAt: a.created_at ?? null,
    campaignStatus: campaign.status,
    adGroupStatus: group.status,
  };
}

/** Facts for the rules: one metrics array per entity laid out by `layout` (NaN counts: a window that says nothing about it). */
export function buildFacts(entity: EntityRecord, layout: FactsLayout, totals: ReadonlyMap<string, ReadonlyMap<string, WindowTotals>>, unknown?: ReadonlyMap<string, (entity: EntityRecord) => boolean>): EntityFacts {
  const metrics = new Float64Array(layout.size);
  layout.windows.forEach((ref, i) => {
    const t = totals.get(ref.key)?.get(entity.id);
    if (unknown?.get(ref.key)?.(entity)) {
      // The window says nothing about this entity (no complete hour yet; older than the API's
      // lookback): its counts are unknown, so every metric over it is insufficient data, not 0.
      metrics[i * 3] = Number.NaN;
      metrics[i * 3 + 1] = Number.NaN;
      metrics[i * 3 + 2] = Number.NaN;
    } else if (t) {
      metrics[i * 3] = t.impressions;
      metrics[i * 3 + 1] = t.clicks;
      metrics[i * 3 + 2] = t.spendUsd;
    }
  });
  return {
    level: entity.level,
    id: entity.id,
    name: entity.name,
    nameLower: entity.name.toLowerCase(),
    status: entity.status,
    reviewStatus: entity.reviewStatus,
    budgetUsd: entity.budgetMicros === null || entity.budgetMicros === undefined ? null : entity.budgetMicros / 1_000_000,
    maxBidUsd: entity.maxBidMicros === null || entity.maxBidMicros === undefined ? null : entity.maxBidMicros / 1_000_000,
    startTimeMs: entity.startTime === null ? null : entity.startTime * 1000,
    endTimeMs: entity.endTime === null ? null : entity.endTime * 1000,
    campaignId: entity.campaignId,
    campaignStatus: entity.campaignStatus,
    adGroupStatus: entity.adGroupStatus,
    metrics,
  };
}
