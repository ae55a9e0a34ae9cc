// The read phase of a cycle: the entity lists the due rules' levels need, then one ranged
// account-scope insights read per distinct (level, range), paged. Every window is resolved here,
// once, at the run's instant; what was read (the ranges, and why they differ from the window) is
// carried to evaluation and to the records. Every failure is kept with what it makes unavailable,
// so a rule whose data is incomplete does not act and the others go on.
import { adEntity, adGroupEntity, campaignEntity, type EntityRecord, type WindowTotals } from '../rules/facts';
import type { InsightsRead, ReadPlan } from '../rules/plan';
import { resolveInsightsReads } from '../rules/plan';
import type { ResolvedWindow, WindowRange } from '../rules/windows';
import type { InsightsQuery, InsightsRow, ThradClient } from '../thrad/client';
import { ThradApiError } from '../thrad/errors';
import type { Ad, AdGroup, Campaign } from '../thrad/schemas';
import type { InsightsMetadataField, Level } from '../thrad/wire';
import { errorAttributes, type EngineLogger } from './logger';

export interface ReadFailure {
  what: string;
  code: string;
  message: string;
}

/** One window of one level as read: the window, the ranges read for it, and its totals (or why there are none). */
export interface WindowRead {
  level: Level;
  key: string;
  window: ResolvedWindow;
  range: WindowRange;
  /** Said on the record beside the range's own note (e.g. where lifetime starts). */
  note: string | undefined;
  totals: Map<string, WindowTotals> | undefined;
  failure: ReadFailure | undefined;
  /**
   * Entities for which the window's totals say nothing (their metrics are insufficient data, not
   * zero): every entity when the window holds no complete hour yet; for lifetime, those created
   * before the API's lookback limit. Null when the read speaks for every entity.
   */
  unknown: { reason: string; applies: (entity: EntityRecord) => boolean } | null;
}

export interface ReadResult {
  /** Entities per level; absent when that level's lists are incomplete. */
  entities: Partial<Record<Level, EntityRecord[]>>;
  levelFailures: Partial<Record<Level, ReadFailure>>;
  /** `${level}|${window key}` → the window as read. */
  windows: Map<string, WindowRead>;
}

export const windowReadKey = (level: Level, key: string): string => `${level}|${key}`;

function failureOf(error: unknown, what: string): ReadFailure {
  if (error instanceof ThradApiError) return { what, code: error.code, message: error.message };
  return { what, code: 'unexpected_error', message: error instanceof Error ? error.message : String(error) };
}

export interface ReadContext {
  client: ThradClient;
  logger: EngineLogger;
  deadlineMs: number;
  /** The run's instant: every window is resolved at it. */
  nowMs: number;
  /**
   * The API answers insights with metadata fields and zero-impression rows (probed): ad groups and
   * ads are then listed by one account-scope insights read per level (the first window read at
   * that level carries the metadata), not one list call per campaign and per ad group.
   */
  childrenFromInsights?: boolean;
  onProgress?: (event: { phase: 'lists' | 'insights'; done: number; total: number; entities: number }) => void;
}

/** What an insights read lists children with: their status and their parents'. */
const LISTING_METADATA: Record<'ad_group' | 'ad', readonly InsightsMetadataField[]> = {
  ad_group: ['ad_group_name', 'ad_group_status', 'campaign_status', 'campaign_start_time_seconds', 'campaign_end_time_seconds'],
  ad: ['ad_name', 'ad_status', 'ad_review_status', 'ad_group_status', 'campaign_status', 'campaign_start_time_seconds', 'campaign_end_time_seconds'],
};

type ChildLevel = 'ad_group' | 'ad';

/** An ad group or ad from an insights row with metadata (no timestamps: insights do not carry them). */
function entityFromRow(level: ChildLevel, row: InsightsRow): EntityRecord | null {
  const status = level === 'ad' ? row.ad_status : row.ad_group_status;
  if (status === undefined || row.campaignId === null || row.campaign_status === 'archived') return null;
  return {
    level,
    id: row.entityId,
    name: (level === 'ad' ? row.ad_name : row.ad_group_name) ?? row.entityName ?? row.entityId,
    status,
    reviewStatus: level === 'ad' ? (row.ad_review_status ?? null) : null,
    budgetMicros: null,
    // Insights do not carry an ad group's max bid: not read (a money action reads the ad group).
    ...(level === 'ad_group' ? { maxBidMicros: undefined } : {}),
    startTime: row.campaign_start_time_seconds ?? null,
    endTime: row.campaign_end_time_seconds ?? null,
    campaignId: row.campaignId,
    adGroupId: level === 'ad' ? row.adGroupId : row.entityId,
    updatedAt: null,
    createdAt: null,
    campaignStatus: row.campaign_status ?? null,
    adGroupStatus: level === 'ad' ? (row.ad_group_status ?? null) : null,
    listedBy: 'insights',
  };
}

export async function readForPlan(plan: ReadPlan, ctx: ReadContext): Promise<ReadResult> {
  const result: ReadResult = { entities: {}, levelFailures: {}, windows: new Map() };
  let campaigns: Campaign[];
  try {
    campaigns = await ctx.client.listCampaigns({ deadlineMs: ctx.deadlineMs });
  } catch (error) {
    const failure = failureOf(error, 'the campaign list');
    ctx.logger.warn('could not list campaigns', errorAttributes(error));
    for (const level of ['campaign', 'ad_group', 'ad'] as const) result.levelFailures[level] = failure;
    for (const read of resolveInsightsReads(plan, ctx.nowMs, () => ctx.nowMs)) recordReads(result, read, { failure });
    return result;
  }
  result.entities.campaign = campaigns.map(campaignEntity);
  ctx.onProgress?.({ phase: 'lists', done: 1, total: 1, entities: campaigns.length });
  const listing = new Map<ChildLevel, EntityRecord[]>();
  if (plan.lists.adGroups && !ctx.childrenFromInsights) await readChildren(plan, campaigns, ctx, result);
  if (plan.lists.adGroups && ctx.childrenFromInsights) for (const level of plan.lists.childLevels as ChildLevel[]) listing.set(level, []);

  // Lifetime starts at creation (never at a start_time someone can move): nothing delivers before
  // its campaign is created, so the earliest campaign creation bounds one read that serves all,
  // but never before the API's lookback limit (it refuses such ranges): a campaign created before
  // that has no whole lifetime to read, and its lifetime metrics are insufficient data.
  const createdMs = campaigns.reduce((min, c) => Math.min(min, c.created_at * 1000), ctx.nowMs);
  const lookback = ctx.client.wireProfile.insights.timeRange.maxLookbackSeconds;
  const horizonMs = lookback === null ? null : Math.ceil((ctx.nowMs - lookback * 1000) / 3_600_000) * 3_600_000;
  const earliestMs = horizonMs === null ? createdMs : Math.max(createdMs, horizonMs);
  const campaignCreatedMs = new Map(campaigns.map((c) => [c.id, c.created_at * 1000]));
  const lifetimeLimit: LifetimeLimit | null =
    horizonMs !== null && createdMs < horizonMs
      ? { reason: `created before ${new Date(horizonMs).toISOString()}, and the API serves insights from the last ${Math.round((lookback ?? 0) / 86_400)} days only: its lifetime cannot be read whole`, note: `from ${new Date(horizonMs).toISOString()}, the API's lookback limit (${Math.round((lookback ?? 0) / 86_400)} days); entities created before it are insufficient data`, createdBefore: (entity) => (entity.createdAt !== null ? entity.createdAt * 1000 : (campaignCreatedMs.get(entity.campaignId ?? entity.id) ?? 0)) < horizonMs }
      : null;
  const reads = resolveInsightsReads(plan, ctx.nowMs, () => earliestMs);
  const outcomes = await readAll(reads, plan, ctx, { campaigns: campaigns.length, listing, result });
  // Recorded in the plan's order, whatever order they were read and ended in.
  for (const read of reads) {
    const outcome = outcomes.get(read);
    if (outcome) recordReads(result, read, outcome, lifetimeLimit);
  }
  // A level whose rules read no window is listed by an insights read of its own (the last complete hour).
  for (const [level, lists] of listing) {
    if (result.entities[level] || result.levelFailures[level]) continue;
    try {
      const end = Math.floor(ctx.nowMs / 3_600_000) * 3_600;
      for await (const page of ctx.client.insightsPages(childQuery(level, plan, ['impressions'], { startSeconds: end - 3_600, endSeconds: end }, true), { deadlineMs: ctx.deadlineMs })) collectEntities(level, page, lists);
      result.entities[level] = lists;
    } catch (error) {
      ctx.logger.warn('could not list children through insights', { level, ...errorAttributes(error) });
      result.levelFailures[level] = failureOf(error, `the ${level.replace('_', ' ')}s (listed by insights)`);
    }
  }
  return result;
}

/** Insights reads in flight at once: the engine takes in one answer while the API prepares the next. */
export const READ_CONCURRENCY = 2;

/**
 * Every insights read, in priority order (the highest priority among the rules each serves; the
 * plan's order among equals), READ_CONCURRENCY at a time. A read starts beside others only while
 * the key's budget covers the most pages all of them can take, so a short budget is spent in
 * priority order exactly as one read after another would spend it. The first read of a child
 * level lists its entities (metadata, zero rows); the level's other reads wait for it, and do not
 * start when it failed.
 */
async function readAll(reads: readonly InsightsRead[], plan: ReadPlan, ctx: ReadContext, at: { campaigns: number; listing: ReadonlyMap<ChildLevel, EntityRecord[]>; result: ReadResult }): Promise<Map<InsightsRead, { totals?: Map<string, WindowTotals>; failure?: ReadFailure }>> {
  const { result, listing } = at;
  const outcomes = new Map<InsightsRead, { totals?: Map<string, WindowTotals>; failure?: ReadFailure }>();
  const queue = [...reads].sort((a, b) => b.priority - a.priority); // a stable sort: the plan's order among equals
  const listers = new Map<ChildLevel, InsightsRead>();
  for (const read of queue) if (listing.has(read.level as ChildLevel) && read.range.ranges.length > 0 && !listers.has(read.level as ChildLevel)) listers.set(read.level as ChildLevel, read);
  const listed = new Map<ChildLevel, Promise<void>>();
  // The most pages a read can take: a range's rows are at most the level's entities (the campaigns
  // listed; a child level's, as many as its listing read returned), a page more for any created
  // meanwhile. Unknown (a child level before its listing) is unbounded: that read goes alone.
  const pageSize = ctx.client.insightsPageSize;
  const listingPages = new Map<ChildLevel, number>();
  const mostPages = (read: InsightsRead): number => {
    const perRange = read.level === 'campaign' ? Math.ceil(at.campaigns / pageSize) + 1 : (listingPages.get(read.level) ?? Number.POSITIVE_INFINITY);
    return read.range.ranges.length === 0 ? 0 : read.range.ranges.length * perRange;
  };
  const running = new Map<InsightsRead, Promise<void>>();
  const fits = async (read: InsightsRead): Promise<boolean> => {
    // Every page may be retried (each attempt takes a request): a read beside another must never
    // take what a higher-priority read in flight may still need, whatever its retries cost.
    let needed = mostPages(read);
    for (const other of running.keys()) needed += mostPages(other);
    // Refused (or the key unreadable: the read itself will say so): it waits for the others.
    if (!Number.isFinite(needed)) return false;
    return ctx.client.ensureBudget(needed * ctx.client.mostRequestsPerCall, 'GET /ad_account/insights').then(
      () => true,
      () => false,
    );
  };
  let done = 0;
  const run = async (read: InsightsRead): Promise<void> => {
    const level = read.level as ChildLevel;
    const lists = read === listers.get(level) ? listing.get(level) : undefined;
    try {
      // The pages of its first range, which lists every entity of the level (zero rows too).
      let pages = 0;
      outcomes.set(read, { totals: await readTotals(read, plan, ctx, lists, () => (pages += 1)) });
      if (lists) {
        result.entities[level] = lists;
        listingPages.set(level, pages + 1);
      }
    } catch (error) {
      if (lists) result.levelFailures[level] = failureOf(error, `the ${level.replace('_', ' ')}s (listed by insights)`);
      ctx.logger.warn('could not read insights', { level: read.level, windows: read.serves.map((s) => s.key), ...errorAttributes(error) });
      outcomes.set(read, { failure: failureOf(error, `insights for ${read.serves.map((s) => s.window.name).join('/')} at ${read.level} level`) });
      return;
    }
    done += 1;
    ctx.onProgress?.({ phase: 'insights', done, total: reads.length, entities: 0 });
  };
  for (const read of queue) {
    const lister = listers.get(read.level as ChildLevel);
    if (lister !== undefined && lister !== read) await listed.get(read.level as ChildLevel);
    const levelFailure = result.levelFailures[read.level];
    if (levelFailure) {
      outcomes.set(read, { failure: levelFailure });
      continue;
    }
    while (running.size >= READ_CONCURRENCY || (running.size > 0 && !(await fits(read)))) await Promise.race(running.values());
    const task = run(read).finally(() => running.delete(read));
    running.set(read, task);
    if (read === lister) listed.set(read.level as ChildLevel, task);
  }
  await Promise.all(running.values());
  return outcomes;
}

function childQuery(level: Level, plan: ReadPlan, fields: InsightsQuery['fields'], range: { startSeconds: number; endSeconds: number }, list: boolean): InsightsQuery {
  const filters = level !== 'campaign' && plan.lists.campaignFilter ? [{ field: 'campaign.id' as const, operator: 'in' as const, value: [...plan.lists.campaignFilter] }] : [];
  return {
    scope: { level: 'ad_account' },
    aggregationLevel: level,
    timeGranularity: 'none',
    fields,
    timeRanges: [range],
    filters,
    ...(list && level !== 'campaign' ? { metadata: LISTING_METADATA[level], includeZeroImpressionItems: true } : {}),
  };
}

function collectEntities(level: ChildLevel, rows: readonly InsightsRow[], into: EntityRecord[]): void {
  for (const row of rows) {
    const entity = entityFromRow(level, row);
    if (entity) into.push(entity);
  }
}

interface LifetimeLimit {
  reason: string;
  note: string;
  createdBefore: (entity: EntityRecord) => boolean;
}

function recordReads(result: ReadResult, read: InsightsRead, outcome: { totals?: Map<string, WindowTotals>; failure?: ReadFailure }, lifetimeLimit: LifetimeLimit | null = null): void {
  for (const serve of read.serves) {
    const lifetime = serve.window.name === 'lifetime';
    const note = lifetime ? (lifetimeLimit ? lifetimeLimit.note : 'from the earliest campaign creation') : undefined;
    // No complete hour yet (today at 00:30): the read says nothing about delivery, not that there was none.
    const unknown = read.range.ranges.length === 0 ? { reason: read.range.note ?? 'no complete hour in the window yet', applies: () => true } : lifetime && lifetimeLimit ? { reason: lifetimeLimit.reason, applies: lifetimeLimit.createdBefore } : null;
    result.windows.set(windowReadKey(read.level, serve.key), { level: read.level, key: serve.key, window: serve.window, range: read.range, note, totals: outcome.totals, failure: outcome.failure, unknown });
  }
}

/** The totals of one read; with `list`, its first range also lists the level's entities (metadata, zero rows). */
async function readTotals(read: InsightsRead, plan: ReadPlan, ctx: ReadContext, list: EntityRecord[] | undefined, onPage?: () => void): Promise<Map<string, WindowTotals>> {
  const totals = new Map<string, WindowTotals>();
  let listing = list !== undefined;
  for (const range of read.range.ranges) {
    const query = childQuery(read.level, plan, read.fields, range, listing);
    for await (const page of ctx.client.insightsPages(query, { deadlineMs: ctx.deadlineMs })) {
      if (listing) onPage?.();
      if (listing && list) collectEntities(read.level as ChildLevel, page, list);
      for (const row of page) {
        const t = totals.get(row.entityId) ?? { impressions: 0, clicks: 0, spendUsd: 0 };
        t.impressions += row.impressions ?? 0;
        t.clicks += row.clicks ?? 0;
        t.spendUsd += row.spend_usd ?? 0;
        totals.set(row.entityId, t);
      }
    }
    listing = false;
  }
  return totals;
}

/** Ad groups per campaign (and ads per ad group) when a rule works at those levels. */
async function readChildren(plan: ReadPlan, campaigns: readonly Campaign[], ctx: ReadContext, result: ReadResult): Promise<void> {
  const call = { deadlineMs: ctx.deadlineMs };
  const expand = campaigns.filter((c) => c.status !== 'archived' && (plan.lists.campaignFilter === null || plan.lists.campaignFilter.has(c.id)));
  const groups: EntityRecord[] = [];
  const ads: EntityRecord[] = [];
  let groupFailure: ReadFailure | undefined;
  let adFailure: ReadFailure | undefined;
  try {
    // One list per campaign at least: refuse up front what the hour's budget cannot cover.
    await ctx.client.ensureBudget(expand.length, 'list ad groups');
  } catch (error) {
    groupFailure = failureOf(error, `the ad groups of ${expand.length} campaigns`);
  }
  let done = 0;
  for (const campaign of groupFailure ? [] : expand) {
    let campaignGroups: AdGroup[];
    try {
      campaignGroups = await ctx.client.listAdGroups(campaign.id, call);
    } catch (error) {
      groupFailure = failureOf(error, `the ad groups of campaign ${campaign.id}`);
      ctx.logger.warn('could not list ad groups', { campaign_id: campaign.id, ...errorAttributes(error) });
      break;
    }
    groups.push(...campaignGroups.map((g) => adGroupEntity(g, campaign)));
    if (plan.lists.ads && !adFailure) {
      for (const group of campaignGroups) {
        let groupAds: Ad[];
        try {
          groupAds = await ctx.client.listAds(group.id, call);
        } catch (error) {
          adFailure = failureOf(error, `the ads of ad group ${group.id}`);
          ctx.logger.warn('could not list ads', { ad_group_id: group.id, ...errorAttributes(error) });
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
    return;
  }
  result.entities.ad_group = groups;
  if (plan.lists.ads) {
    if (adFailure) result.levelFailures.ad = adFailure;
    else result.entities.ad = ads;
  }
}
