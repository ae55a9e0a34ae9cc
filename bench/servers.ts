// The benchmark's servers in their own process, so the engine's memory is measured alone: the
// Thrad sandbox with 10,000 campaigns (a week of daily delivery each, plus today) and dynalite.
// Prints one JSON line with their endpoints, then serves until killed.
import { startEmbeddedDynamo } from '../functions/local/dynalite';
import type { FixtureInput } from '../sandbox/fixture';
import { startSandbox } from '../sandbox/server';
import { benchCampaigns } from './evaluator';

export const BENCH_KEY = 'ak_bench_0123456789abcdef';
export const BENCH_ACCOUNT = '9b1f0c2e-7d4a-4e8b-b6a1-2c3d4e5f6a7b';
/** 2026-11-24T15:30:00Z: 10:30 in New York. */
export const BENCH_NOW = 1_795_534_200;

export function benchFixture(count: number): FixtureInput {
  const today = Math.floor(BENCH_NOW / 86_400) * 86_400;
  const iso = (t: number): string => new Date(t * 1000).toISOString().slice(0, 10);
  return {
    now: BENCH_NOW,
    seed: 5,
    api_keys: [BENCH_KEY],
    account: { id: BENCH_ACCOUNT, name: 'Bench Co' },
    campaigns: benchCampaigns(count).map((c, i) => {
      // A week of days shaped by the campaign's last_7_days totals, and today's partial day.
      const week = c.windows.last_7_days;
      const delivery = Array.from({ length: 7 }, (_, d) => ({
        date: iso(today - (d + 1) * 86_400),
        impressions: Math.round(week.impressions / 7),
        clicks: Math.round(week.clicks / 7),
        spend_usd: Math.round((week.spendUsd / 7) * 100) / 100,
      }));
      delivery.push({ date: iso(today), impressions: c.windows.today.impressions, clicks: c.windows.today.clicks, spend_usd: c.windows.today.spendUsd });
      return {
        id: c.record.id,
        name: c.record.name,
        status: c.record.status === 'archived' ? 'paused' : c.record.status,
        review_status: 'approved' as const,
        start_time: today - 30 * 86_400,
        created_at: today - 31 * 86_400 + i,
        budget: { lifetime_spend_limit_micros: 1_000_000_000_000 },
        ad_groups: [{ id: `${c.record.id}-g`, name: 'Group', ads: [{ id: `${c.record.id}-a`, name: 'Ad', creative: { type: 'chat_card' as const, title: 'T', body: 'B' }, delivery }] }],
      };
    }),
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const sandbox = await startSandbox({ fixture: benchFixture(count), port: 0, clockSpeed: 0 });
  const dynamo = await startEmbeddedDynamo();
  process.stdout.write(`${JSON.stringify({ apiUrl: sandbox.apiUrl, url: sandbox.url, dynamoEndpoint: dynamo.endpoint })}\n`);
  const stop = (): void => {
    void Promise.all([sandbox.close(), dynamo.close()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) void main();
