// Read planning: from the due rules, the smallest set of reads that serves them all: the entity
// lists their levels need, and one ranged account-scope insights read per distinct (level,
// range), asking only for the base counts some rule needs. Its cost does not grow with the number
// of rules, nor with the number of entities beyond list and insights paging.
import type { Level } from '../thrad/wire';
import type { CompiledRule, WindowRef } from './compile';
import { readRanges, resolveWindow, type ResolvedWindow, type WindowRange } from './windows';
import type { Condition } from './schema';
import { BASE_COUNTS, FIELD_INFO, type BaseCount } from './vocabulary';

export interface ListNeeds {
  /** Campaigns are always listed (every level hangs off them). */
  campaigns: true;
  /** Ad groups per campaign (ad_group and ad rules). */
  adGroups: boolean;
  /** Ads per ad group (ad rules). */
  ads: boolean;
  /** When every lower-level rule is limited to some campaigns, only those are expanded. */
  campaignFilter: ReadonlySet<string> | null;
  /** The levels below campaigns that rules work at (what an insights read with metadata must list). */
  childLevels: Level[];
  /** A lower-level rule reads a field insights do not carry (an ad group's max bid): list through the API. */
  resourceFields: boolean;
}

export interface WindowNeed {
  level: Level;
  ref: WindowRef;
  bases: Set<BaseCount>;
  ruleIds: string[];
  /** The highest priority among those rules: reads go in priority order when the budget is short. */
  priority: number;
}

export interface ReadPlan {
  lists: ListNeeds;
  windows: WindowNeed[];
}

/** Whether a condition reads a field that entities listed through insights do not carry. */
function readsResourceField(node: Condition): boolean {
  if ('all' in node) return node.all.some(readsResourceField);
  if ('any' in node) return node.any.some(readsResourceField);
  if ('not' in node) return readsResourceField(node.not);
  return 'field' in node && FIELD_INFO[node.field].inInsightsListing === false;
}

/** What the due rules need, before anything is read. */
export function planReads(rules: readonly CompiledRule[]): ReadPlan {
  const lower = rules.filter((r) => r.rule.level !== 'campaign');
  const unfiltered = lower.some((r) => r.rule.scope?.campaign_ids === undefined);
  const campaignFilter = lower.length === 0 || unfiltered ? null : new Set(lower.flatMap((r) => r.rule.scope?.campaign_ids ?? []));
  const windows = new Map<string, WindowNeed>();
  for (const rule of rules) {
    for (const { ref, bases } of rule.needs.values()) {
      const key = `${rule.rule.level}|${ref.key}`;
      let need = windows.get(key);
      if (!need) {
        need = { level: rule.rule.level, ref, bases: new Set(), ruleIds: [], priority: rule.rule.priority };
        windows.set(key, need);
      }
      for (const b of bases) need.bases.add(b);
      need.ruleIds.push(rule.id);
      need.priority = Math.max(need.priority, rule.rule.priority);
    }
  }
  return {
    lists: { campaigns: true, adGroups: lower.length > 0, ads: rules.some((r) => r.rule.level === 'ad'), campaignFilter, childLevels: (['ad_group', 'ad'] as const).filter((level) => lower.some((r) => r.rule.level === level)), resourceFields: lower.some((r) => readsResourceField(r.rule.when)) },
    windows: [...windows.values()],
  };
}

/** One insights read: a level, the UTC ranges (whole hours, ≤ 366 days each), the fields, and the windows it serves. */
export interface InsightsRead {
  level: Level;
  range: WindowRange;
  fields: BaseCount[];
  /** The window keys (and their resolved windows) whose facts come from this read. */
  serves: { key: string; window: ResolvedWindow; ruleIds: string[] }[];
  /** The highest priority among the rules it serves. */
  priority: number;
}

/**
 * Resolve the windows once, at `nowMs`, and merge those that resolve to the same range (two rules
 * in different time zones can share a read). `lifetimeStartMs` is the earliest creation among the
 * entities of a level, for `lifetime`.
 */
export function resolveInsightsReads(plan: ReadPlan, nowMs: number, lifetimeStartMs: (level: Level) => number): InsightsRead[] {
  const reads = new Map<string, InsightsRead>();
  for (const need of plan.windows) {
    const window = resolveWindow(need.ref.name, need.ref.timezone, nowMs, need.ref.name === 'lifetime' ? lifetimeStartMs(need.level) : undefined);
    const range = readRanges(window, nowMs);
    const key = `${need.level}|${range.startMs}-${range.endMs}`;
    let read = reads.get(key);
    if (!read) {
      read = { level: need.level, range, fields: [], serves: [], priority: need.priority };
      reads.set(key, read);
    }
    read.priority = Math.max(read.priority, need.priority);
    for (const b of BASE_COUNTS) if (need.bases.has(b) && !read.fields.includes(b)) read.fields.push(b);
    read.serves.push({ key: need.ref.key, window, ruleIds: need.ruleIds });
  }
  for (const read of reads.values()) read.fields.sort((a, b) => BASE_COUNTS.indexOf(a) - BASE_COUNTS.indexOf(b));
  return [...reads.values()];
}

export interface CostInputs {
  campaigns: number;
  /** Campaigns whose children are listed. */
  expandedCampaigns?: number;
  adGroups?: number;
  /** Rows each insights read returns (entities with delivery in the range), per read. */
  rowsPerRead: (read: InsightsRead) => number;
  listPageSize: number;
  insightsPageSize: number;
}

const pages = (items: number, size: number): number => Math.max(1, Math.ceil(items / size));

/**
 * Requests the plan costs: list pages + insights pages per range. (Ad group and ad lists are one
 * request per parent at least: the API has no listing across parents.)
 */
export function planCost(plan: ReadPlan, reads: readonly InsightsRead[], inputs: CostInputs): number {
  let cost = pages(inputs.campaigns, inputs.listPageSize);
  if (plan.lists.adGroups) cost += inputs.expandedCampaigns ?? inputs.campaigns;
  if (plan.lists.ads) cost += inputs.adGroups ?? 0;
  for (const read of reads) cost += read.range.ranges.length * pages(inputs.rowsPerRead(read), inputs.insightsPageSize);
  return cost;
}
