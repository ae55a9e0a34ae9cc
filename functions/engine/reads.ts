// The read phase of a cycle: the entity lists the due rules' levels need, then one ranged
// account-scope insights read per distinct (level, range), paged. Every failure is kept with
// what it makes unavailable, so a rule whose data is incomplete does not act and the others go on.
import { adEntity, adGroupEntity, campaignEntity, type EntityRecord, type WindowTotals } from '../rules/facts';
import type { InsightsRead, ReadPlan } from '../rules/plan';
import { resolveInsightsReads } from '../rules/plan';
import type { ThradClient } from '../thrad/client';
import { ThradApiError } from '../thrad/errors';
import type { Ad, AdGroup, Campaign } from '../thrad/schemas';
import type { Level } from '../thrad/wire';
import { errorAttributes, type EngineLogger } from './logger';

export interface ReadFailure {
  what: string;
  code: string;
  message: string;
}

export interface ReadResult {
  /** Entities per level; absent when that level's lists are incomplete. */
  entities: Partial<Record<Level, EntityRecord[]>>;
  levelFailures: Partial<Record<Level, ReadFailure>>;
  /** Totals per `${level}|${window key}`: entity id → counts. */
  totals: Map<string, Map<string, WindowTotals>>;
  /** `${level}|${window key}` → why that window could not be read. */
  windowFailures: Map<string, ReadFailure>;
  reads: InsightsRead[];
  campaigns: Campaign[];
}

function failureOf(error: unknown, what: string): ReadFailure {
  if (error instanceof ThradApiError) return { what, code: error.code, message: error.message };
  return { what, code: 'unexpected_error', message: error instanceof Error ? error.message : String(error) };
}

export interface ReadContext {
  client: ThradClient;
  logger: EngineLogger;
  deadlineMs: number;
  nowMs: number;
  onProgress?: (event: { phase: 'lists' | 'insights'; done: number; total: number; entities: number }) => void;
}

export async function readForPlan(plan: ReadPlan, ctx: ReadContext): Promise<ReadResult> {
  const { client, logger, deadlineMs } = ctx;
  const result: ReadResult = { entities: {}, levelFailures: {}, totals: new Map(), windowFailures: new Map(), reads: [], campaigns: [] };
  const call = { deadlineMs };

  // Lists: campaigns always; ad groups and ads when a rule works at those levels.
  let campaigns: Campaign[];
  try {
    campaigns = await client.listCampaigns(call);
  } catch (error) {
    const failure = failureOf(error, 'the campaign list');
    logger.warn('could not list campaigns', errorAttributes(error));
    for (const level of ['campaign', 'ad_group', 'ad'] as const) result.levelFailures[level] = failure;
    for (const need of plan.windows) result.windowFailures.set(`${need.level}|${need.ref.key}`, failure);
    return result;
  }
  result.campaigns = campaigns;
  result.entities.campaign = campaigns.map(campaignEntity);
  ctx.onProgress?.({ phase: 'lists', done: 1, total: 1, entities: campaigns.length });

  if (plan.lists.adGroups) {
    const expand = campaigns.filter((c) => c.status !== 'archived' && (plan.lists.campaignFilter === null || plan.lists.campaignFilter.has(c.id)));
    const groups: EntityRecord[] = [];
    const ads: EntityRecord[] = [];
    let groupFailure: ReadFailure | undefined;
    let adFailure: ReadFailure | undefined;
    let done = 0;
    for (const campaign of expand) {
      let campaignGroups: AdGroup[];
      try {
        campaignGroups = await client.listAdGroups(campaign.id, call);
      } catch (error) {
        groupFailure = failureOf(error, `the ad groups of campaign ${campaign.id}`);
        logger.warn('could not list ad groups', { campaign_id: campaign.id, ...errorAttributes(error) });
        break;
      }
      groups.push(...campaignGroups.map((g) => adGroupEntity(g, campaign)));
      if (plan.lists.ads && !adFailure) {
        for (const group of campaignGroups) {
          let groupAds: Ad[];
          try {
            groupAds = await client.listAds(group.id, call);
          } catch (error) {
            adFailure = failureOf(error, `the ads of ad group ${group.id}`);
            logger.warn('could not list ads', { ad_group_id: group.id, ...errorAttributes(error) });
            break;
          }
          ads.push(...groupAds.map((a) => adEntity(a, group, campaign)));
        }
      }
      done += 1;
      ctx.onProgress?.({ phase: 'lists', done, total: expand.length, entities: campaigns.length + groups.length + ads.length });
    }
    if (groupFailure) {
      result.levelFailures.ad_group = groupFailure;
      result.levelFailures.ad = groupFailure;
    } else {
      result.entities.ad_group = groups;
      if (plan.lists.ads) {
        if (adFailure) result.levelFailures.ad = adFailure;
        else result.entities.ad = ads;
      }
    }
  }

  // Insights: lifetime starts at the earliest campaign start among what is read.
  const earliestStart = campaigns.reduce((min, c) => Math.min(min, c.start_time * 1000), ctx.nowMs);
  const reads = resolveInsightsReads(plan, ctx.nowMs, () => earliestStart);
  result.reads = reads;
  let done = 0;
  for (const read of reads) {
    const keys = read.serves.map((s) => `${read.level}|${s.key}`);
    if (result.levelFailures[read.level]) {
      for (const key of keys) result.windowFailures.set(key, result.levelFailures[read.level] as ReadFailure);
      continue;
    }
    const totals = new Map<string, WindowTotals>();
    try {
      for (const range of read.ranges) {
        const filters = read.level !== 'campaign' && plan.lists.campaignFilter ? [{ field: 'campaign.id' as const, operator: 'in' as const, value: [...plan.lists.campaignFilter] }] : [];
        for await (const page of client.insightsPages({ scope: { level: 'ad_account' }, aggregationLevel: read.level, timeGranularity: 'none', fields: read.fields, timeRanges: [range], filters }, call)) {
          for (const row of page) {
            const t = totals.get(row.entityId) ?? { impressions: 0, clicks: 0, spendUsd: 0 };
            t.impressions += row.impressions ?? 0;
            t.clicks += row.clicks ?? 0;
            t.spendUsd += row.spend_usd ?? 0;
            totals.set(row.entityId, t);
          }
        }
      }
    } catch (error) {
      const failure = failureOf(error, `insights for ${read.serves.map((s) => s.window.name).join('/')} at ${read.level} level`);
      logger.warn('could not read insights', { level: read.level, windows: read.serves.map((s) => s.key), ...errorAttributes(error) });
      for (const key of keys) result.windowFailures.set(key, failure);
      continue;
    }
    for (const key of keys) result.totals.set(key, totals);
    done += 1;
    ctx.onProgress?.({ phase: 'insights', done, total: reads.length, entities: totals.size });
  }
  return result;
}
