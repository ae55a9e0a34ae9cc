// Engine-cycle benchmark: one cycle at 10,000 campaigns × 50 rules × 4 distinct windows against
// the sandbox with dynalite (both in a child process), counting requests from the sandbox's own
// request log, against the lower bound and against a per-entity design; and, in the same run,
// the cycle's I/O done without the engine (iofloor.ts), so its own overhead is a ratio.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AuditStore, BATCH_CONCURRENCY } from '../functions/audit/store';
import { DEFAULT_ACTION_CONCURRENCY, Engine } from '../functions/engine/cycle';
import { MemoryNotifier } from '../functions/engine/notifier';
import { localDynamoClient } from '../functions/local/dynalite';
import { compileRuleSet } from '../functions/rules/compile';
import { ruleSchema, type Rule } from '../functions/rules/schema';
import { ruleVersion } from '../functions/rules/validate';
import { ManualClock } from '../functions/shared/clock';
import { ThradClient } from '../functions/thrad/client';
import { StaticApiKeyProvider } from '../functions/thrad/keys';
import { BENCH_WINDOWS, benchRules } from './evaluator';
import { captureItemWrites, runIoFloor, type LoggedRequest } from './iofloor';
import { BENCH_ACCOUNT, BENCH_KEY, BENCH_NOW } from './servers';

export interface CycleFigures {
  campaigns: number;
  rules: number;
  windows: number;
  api_requests_per_cycle: number;
  api_requests_lower_bound: number;
  api_requests_per_entity_design: number;
  actions: number;
  decisions_recorded: number;
  cycle_seconds: number;
  /** The same API requests and DynamoDB item writes as the cycle, without the engine. */
  cycle_io_floor_seconds: number;
  io_floor_item_writes: number;
  io_floor_item_bytes: number;
  peak_rss_mb: number;
  /** Items written to the audit table by the cycle (each PutItem, UpdateItem and batch item). */
  first_cycle_records: number;
  /** The same after the first cycle's own actions have been seen once: a second, identical cycle on the same world and table. */
  steady_state_records_per_cycle: number;
  /** The cycle in between: what the first cycle's actions changed (written, as every change is). */
  settle_cycle_records: number;
}

/** Counts the items a DynamoDB client writes (each PutItem, UpdateItem and BatchWriteItem request item). */
function countWrites(client: DynamoDBClient): { readonly count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { RequestItems?: Record<string, unknown[]> };
      if (context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand') counter.count += 1;
      if (context.commandName === 'BatchWriteItemCommand') for (const items of Object.values(input.RequestItems ?? {})) counter.count += items.length;
      return next(args);
    },
    { step: 'serialize', name: 'bench-count-writes' },
  );
  return counter;
}

const LIST_PAGE = 500;

/** The bench rules: all dry-run but two live CPC guards narrow enough to act on a few dozen campaigns. */
function cycleRules(): Rule[] {
  return benchRules(50).map((rule, i) => {
    if (i === 0 || i === 5) {
      return ruleSchema.parse({
        ...rule,
        mode: 'live',
        when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window: 'last_7_days', op: 'gt', value: 3.9 }, { metric: 'clicks', window: 'last_7_days', op: 'gte', value: 50 }] },
        guards: { max_actions_per_run: 200 },
      });
    }
    return { ...rule, mode: 'dry_run' };
  });
}

export async function runCycleBench(campaigns = 10_000): Promise<CycleFigures> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), resolve(__dirname, 'servers.ts'), String(campaigns)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const endpoints = await new Promise<{ apiUrl: string; url: string; dynamoEndpoint: string }>((resolveLine, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const line = buffer.split('\n')[0];
        if (buffer.includes('\n') && line) resolveLine(JSON.parse(line) as { apiUrl: string; url: string; dynamoEndpoint: string });
      });
      child.once('exit', (code) => reject(new Error(`bench servers exited (${String(code)})`)));
    });
    const clock = new ManualClock(BENCH_NOW * 1000);
    // Insights pages are the wire profile's largest (the default profile, as the bench sandbox serves: 2000 in reference).
    const client = new ThradClient({ baseUrl: endpoints.apiUrl, keyProvider: new StaticApiKeyProvider(BENCH_KEY), clock, listPageSize: LIST_PAGE, requestTimeoutMs: 30_000 });
    const dynamo = localDynamoClient(endpoints.dynamoEndpoint);
    const store = new AuditStore({ tableName: 'bench-audit', client: dynamo, clock });
    await store.ensureTable();
    const writes = countWrites(dynamo);
    const capture = captureItemWrites(dynamo);
    const rules = cycleRules();
    const set = compileRuleSet(rules.map((rule) => ({ rule, file: 'bench', index: null, version: ruleVersion(rule) })));
    const engine = new Engine({ client, store, rules: set, notifier: new MemoryNotifier(), clock, accountId: BENCH_ACCOUNT });

    let peak = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);
    const started = process.hrtime.bigint();
    const { summary, decisions } = await engine.runCycle({ deadlineMs: Date.now() + 120_000, scheduledTime: BENCH_NOW * 1000 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    const firstCycleRecords = writes.count;
    const writtenItems = capture.stop();

    const log = (await (await fetch(`${endpoints.url}/_sandbox/requests`)).json()) as { data: LoggedRequest[] };
    // The floor pays for the answers as the cycle did: the sandbox computes each query again
    // instead of serving the row sets the cycle's reads left in its cache.
    await fetch(`${endpoints.url}/_sandbox/insights/cache`, { method: 'DELETE' });
    const floor = await runIoFloor({ sandboxUrl: endpoints.url, apiKey: BENCH_KEY, requests: log.data, dynamo: localDynamoClient(endpoints.dynamoEndpoint), tableName: 'bench-io-floor', items: writtenItems, actionConcurrency: DEFAULT_ACTION_CONCURRENCY, writeConcurrency: BATCH_CONCURRENCY });
    const actions = log.data.filter((r) => r.method === 'POST' && /\/(pause|activate|archive)$/.test(r.path)).length;
    const insightsRows = (await (await fetch(`${endpoints.url}/_sandbox/state`)).json()) as { campaigns: unknown[] };
    const entities = insightsRows.campaigns.length;
    const listPages = Math.ceil(entities / LIST_PAGE);
    // Per range read: ceil(rows / page size) pages, at least one. Rows are counted afterwards
    // (not in the log above) with one whole read per distinct (level, range) the cycle asked.
    const pageSize = client.insightsPageSize;
    const ranges = new Map<string, { level: 'campaign' | 'ad_group' | 'ad'; startSeconds: number; endSeconds: number }>();
    for (const r of log.data) {
      const raw = r.query[client.wireProfile.insights.params.timeRanges]?.[0];
      const level = r.query[client.wireProfile.insights.params.aggregationLevel]?.[0];
      if (!r.path.endsWith('/insights') || raw === undefined || (level !== 'campaign' && level !== 'ad_group' && level !== 'ad')) continue;
      const { start, end } = JSON.parse(raw) as { start: number; end: number };
      ranges.set(`${level}|${start}|${end}`, { level, startSeconds: start, endSeconds: end });
    }
    let insightsPages = 0;
    for (const { level, ...range } of ranges.values()) {
      const rows = await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: level, timeGranularity: 'none', fields: ['impressions'], timeRanges: [range] });
      insightsPages += Math.max(1, Math.ceil(rows.length / pageSize));
    }
    if (summary.status !== 'completed') throw new Error(`bench cycle ${summary.status}: ${JSON.stringify(summary.errors)}`);
    // Then the same cycle twice more, 5 minutes apart (the same complete hours, the same world):
    // the first of them still writes what the 103 pauses changed (dry-run pauses now find their
    // campaigns paused); the second, identical one is the steady state.
    const again = async (): Promise<number> => {
      clock.advance(5 * 60_000);
      const before = writes.count;
      const next = await engine.runCycle({ deadlineMs: Date.now() + 120_000, scheduledTime: clock.nowMs() });
      if (next.summary.status !== 'completed') throw new Error(`bench cycle ${next.summary.status}: ${JSON.stringify(next.summary.errors)}`);
      return writes.count - before;
    };
    const settleRecords = await again();
    const steadyRecords = await again();
    return {
      campaigns: entities,
      rules: rules.length,
      windows: BENCH_WINDOWS.length,
      api_requests_per_cycle: log.data.length,
      api_requests_lower_bound: listPages + insightsPages + actions,
      api_requests_per_entity_design: listPages + entities * BENCH_WINDOWS.length + actions,
      actions,
      decisions_recorded: decisions.length,
      cycle_seconds: Math.round(seconds * 100) / 100,
      cycle_io_floor_seconds: Math.round(floor.seconds * 100) / 100,
      io_floor_item_writes: floor.item_writes,
      io_floor_item_bytes: floor.item_bytes,
      peak_rss_mb: Math.round(peak / 1024 / 1024),
      first_cycle_records: firstCycleRecords,
      steady_state_records_per_cycle: steadyRecords,
      settle_cycle_records: settleRecords,
    };
  } finally {
    child.kill('SIGTERM');
  }
}
