// Ad-level benchmark: the requests of one cycle of an ad-level rule at 2,000 campaigns × 3 ad
// groups × 2 ads, with the API's insights metadata (ads listed by the account-scope read itself)
// and without it (one ad-group list per campaign, one ad list per ad group), next to the lower
// bound. Counted from the sandbox's request log. The hourly limit is lifted here, so the cost per
// parent shows in full (at the real 1,000 an hour the engine refuses it up front).
import { randomBytes } from 'node:crypto';
import { AuditStore } from '../functions/audit/store';
import { Engine } from '../functions/engine/cycle';
import { MemoryNotifier } from '../functions/engine/notifier';
import { startEmbeddedDynamo } from '../functions/local/dynalite';
import { compileRuleSet } from '../functions/rules/compile';
import { ruleSchema } from '../functions/rules/schema';
import { ruleVersion } from '../functions/rules/validate';
import { ManualClock } from '../functions/shared/clock';
import { RequestBudget } from '../functions/thrad/budget';
import { ThradClient } from '../functions/thrad/client';
import { StaticApiKeyProvider } from '../functions/thrad/keys';
import type { FixtureInput } from '../sandbox/fixture';
import { startSandbox } from '../sandbox/server';
import { BENCH_ACCOUNT, BENCH_KEY, BENCH_NOW } from './servers';

export interface AdLevelFigures {
  api_requests_ad_level_cycle: number;
  api_requests_ad_level_cycle_without_metadata: number;
  api_requests_ad_level_lower_bound: number;
  ad_level_ads: number;
}

const GROUPS = 3;
const ADS = 2;
const LIST_PAGE = 500;

function adLevelFixture(campaigns: number): FixtureInput {
  const today = Math.floor(BENCH_NOW / 86_400) * 86_400;
  const iso = (t: number): string => new Date(t * 1000).toISOString().slice(0, 10);
  return {
    now: BENCH_NOW,
    seed: 9,
    api_keys: [BENCH_KEY],
    account: { id: BENCH_ACCOUNT, name: 'Bench Co' },
    behaviour: { requests_per_hour: 1_000_000 },
    campaigns: Array.from({ length: campaigns }, (_, c) => ({
      id: `c-${c}`,
      name: `Campaign ${c}`,
      status: 'active' as const,
      review_status: 'approved' as const,
      created_at: today - 30 * 86_400 + c,
      start_time: today - 29 * 86_400,
      budget: { lifetime_spend_limit_micros: 1_000_000_000_000 },
      ad_groups: Array.from({ length: GROUPS }, (_, g) => ({
        id: `c-${c}-g${g}`,
        name: `Group ${g}`,
        ads: Array.from({ length: ADS }, (_, a) => ({
          id: `c-${c}-g${g}-a${a}`,
          name: `Ad ${a}`,
          creative: { type: 'chat_card' as const, title: 'T', body: 'B' },
          // Some ads went quiet: no delivery in the last 3 days.
          delivery: (c + g + a) % 7 === 0 ? [] : [1, 2, 3].map((d) => ({ date: iso(today - d * 86_400), impressions: 100 + ((c * 7 + g * 3 + a) % 50), clicks: 3, spend_usd: 1.5 })),
        })),
      })),
    })),
  };
}

async function cycle(campaigns: number, insightsListing: boolean): Promise<{ requests: number; decisions: number; ads: number }> {
  const sandbox = await startSandbox({ fixture: adLevelFixture(campaigns), port: 0, clockSpeed: 0 });
  const dynamo = await startEmbeddedDynamo();
  try {
    const clock = new ManualClock(BENCH_NOW * 1000);
    const client = new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(BENCH_KEY), clock, listPageSize: LIST_PAGE, requestTimeoutMs: 30_000, budget: new RequestBudget(clock, { requestsPerHour: 1_000_000 }) });
    const store = new AuditStore({ tableName: `adlevel-${randomBytes(3).toString('hex')}`, client: dynamo.client, clock });
    await store.ensureTable();
    const rule = ruleSchema.parse({
      id: 'quiet-ads',
      mode: 'dry_run',
      schedule: { expression: 'rate(1 hour)', timezone: 'UTC' },
      level: 'ad',
      when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { field: 'campaign_status', op: 'eq', value: 'active' }, { field: 'ad_group_status', op: 'eq', value: 'active' }, { metric: 'impressions', window: 'last_3_days', op: 'eq', value: 0 }] },
      then: { action: 'pause' },
    });
    const engine = new Engine({ client, store, rules: compileRuleSet([{ rule, file: 'bench', index: null, version: ruleVersion(rule) }]), notifier: new MemoryNotifier(), clock, accountId: BENCH_ACCOUNT, insightsListing });
    sandbox.clearRequests();
    const { summary, decisions } = await engine.runCycle({ deadlineMs: Date.now() + 600_000, scheduledTime: BENCH_NOW * 1000 });
    if (summary.status !== 'completed' || (summary.counts.data_unavailable ?? 0) > 0) throw new Error(`ad-level bench cycle ${summary.status}: ${JSON.stringify(summary.errors)} ${JSON.stringify(summary.counts)}`);
    return { requests: sandbox.requests().length, decisions: decisions.length, ads: sandbox.world.ads.size };
  } finally {
    await sandbox.close();
    await dynamo.close();
  }
}

export async function runAdLevelBench(campaigns = 2_000): Promise<AdLevelFigures> {
  const withMetadata = await cycle(campaigns, true);
  const without = await cycle(campaigns, false);
  if (withMetadata.decisions !== without.decisions) throw new Error(`ad-level bench: ${withMetadata.decisions} decisions with metadata, ${without.decisions} without`);
  // Campaign list pages + the ad-level insights pages (every ad has a row with zero-impression
  // items) + the capability probe; no actions (dry run).
  const lowerBound = Math.ceil(campaigns / LIST_PAGE) + Math.ceil(withMetadata.ads / 2_000) + 1;
  return { api_requests_ad_level_cycle: withMetadata.requests, api_requests_ad_level_cycle_without_metadata: without.requests, api_requests_ad_level_lower_bound: lowerBound, ad_level_ads: withMetadata.ads };
}
