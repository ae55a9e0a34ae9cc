// The org-hour benchmark: 200 organizations × 500 campaigns (a generated world, sandbox/generate.ts)
// running the shipped rules over one simulated hour through the local fleet (functions/local/
// fleet.ts: the tick planner, one cycle per org per tick, a bounded pool), against the sandbox
// and dynalite in a child process. Requests are counted from the sandbox's request log per org.
//
//   org_hour_requests_per_org              mean requests an org made in the hour
//   org_hour_requests_lower_bound_per_org  Σ over its ticks of (list pages + distinct windows) + actions
//   org_hour_seconds, org_hour_peak_rss_mb the hour's wall time and the engine process's peak memory
//   fairness_max_tick_delay                one org made 10× slower (every request it makes waits),
//                                          24 orgs on the real runner's path (the local scheduler,
//                                          a clock 60× real time): how many ticks later than in the
//                                          same quarter hour without the slow org any other org's
//                                          cycle started
//
// The hour starts at 21:30 New York time so it holds the 22:00 tick where every schedule of the
// shipped rules coincides. The capability probe (cached a day per account) is done before the
// hour, as a deployment that has run a day has it; the hour measures the steady state.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AuditStore } from '../functions/audit/store';
import { Engine } from '../functions/engine/cycle';
import { MemoryNotifier } from '../functions/engine/notifier';
import { localDynamoClient } from '../functions/local/dynalite';
import { Fleet, type FleetOrg, type FleetStart } from '../functions/local/fleet';
import { LocalScheduler, waitForClock } from '../functions/local/scheduler';
import { dueAt, TICK_SECONDS } from '../functions/orgs/plan';
import { compileRuleSet, type CompiledRuleSet } from '../functions/rules/compile';
import { scheduleGroups } from '../functions/rules/groups';
import type { Rule } from '../functions/rules/schema';
import { loadRules } from '../functions/rules/validate';
import { ManualClock, ScaledClock, type Clock } from '../functions/shared/clock';
import { RequestBudget } from '../functions/thrad/budget';
import { ThradClient } from '../functions/thrad/client';
import { probeCapabilities } from '../functions/thrad/capabilities';
import type { GenerateOptions } from '../sandbox/generate';
import { StaticApiKeyProvider } from '../functions/thrad/keys';
import { forEachConcurrent } from '../functions/shared/concurrency';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { batchesOf, captureItemWrites, replayInShape, replayRequest, writeBatch, type LoggedRequest } from './iofloor';

export interface OrgHourFigures {
  orgs: number;
  campaigns_per_org: number;
  ticks_per_org: number;
  org_hour_requests_per_org: number;
  org_hour_requests_lower_bound_per_org: number;
  /**
   * Mean single-entity reads (GET /v1/campaigns/:id, /ad_groups/:id, /ads/:id) an org made in the
   * hour: the re-read before a start of spend and the reads of what a listing does not carry (an
   * ad group's bid, an entity's timestamps). The bound counts none of them; the engine must not
   * drop them (a write re-checks what it depends on), so requests = bound + these.
   */
  org_hour_safety_reads_per_org: number;
  /** Requests of the hour (all orgs) that are neither in the bound nor safety reads: 0 when the bound's gap is the safety reads alone. */
  org_hour_unexplained_requests: number;
  org_hour_seconds: number;
  org_hour_peak_rss_mb: number;
  org_hour_cycles: number;
  org_hour_actions: number;
  /** Audit-store (DynamoDB) requests per org cycle: round trips, whatever the machine's load. */
  org_hour_store_requests_per_cycle: number;
  /** The engine process's CPU time (user + system) over the hour: less sensitive to a busy machine than the wall time. */
  org_hour_engine_cpu_seconds: number;
  /**
   * The servers' process's CPU time over the hour (the sandbox answering every request, dynalite
   * storing every item): it shares the machine's cores with the engine, so the hour's wall time is
   * at least the larger of the two CPU times, and at least half their sum on 2 cores.
   */
  org_hour_servers_cpu_seconds: number;
  /**
   * The hour's I/O without the engine: the same API requests of each org at each tick (replayed
   * from the sandbox's log, against a fresh copy of the same world on the same clock, so each
   * call finds what the engine's found) and the same audit items (captured from the engine's
   * client, written as plain batch puts), 8 orgs at a time, in a second run of the servers.
   */
  org_hour_io_floor_seconds: number;
  /** The servers' process's CPU time over that floor run: what the I/O alone costs the machine's other core. */
  org_hour_io_floor_servers_cpu_seconds: number;
  /** org_hour_seconds / org_hour_io_floor_seconds: the engine's own overhead, as a ratio. */
  org_hour_overhead_ratio: number;
  fairness_max_tick_delay: number;
  fairness_slow_org_cycles: number;
  fairness_slow_request_delay_ms: number;
  fairness_baseline_worst_start_ms: number;
  fairness_worst_start_ms: number;
}

/** 2026-11-24T02:30:00Z = 21:30 EST on 2026-11-23. */
const HOUR_START_S = 1_795_487_400;
const LIST_PAGE = 500;
const FAIRNESS_ORGS = 24;
/**
 * The generated mix, scaled to 500 campaigns an org: each shipped rule matches about half its
 * max_actions_per_run (the default mix, made for a hundred campaigns, would put every rule over its
 * cap at every run: nothing acts, no cooldown starts, and the cap, not the engine, decides the hour).
 */
const BENCH_MIX: Pick<GenerateOptions, 'weights' | 'daypartShare'> = {
  weights: { expensive: 0.5, near_budget: 1, winner: 0.5, low_ctr: 0.5, spike: 0.5, stalled: 1, approved_new: 0.8, in_review: 0.8, paused: 5, rejected: 2, archived: 2, steady: 85.4 },
  daypartShare: 0.02,
};
/** Counts the requests a DynamoDB client sends, per command (a load-independent measure of a cycle's store round trips). */
export function countStoreRequests(client: DynamoDBClient): { total: () => number; byCommand: Map<string, number> } {
  const byCommand = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = context.commandName ?? 'unknown';
      byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
      // ORG_BENCH_TRACE: every store request, with what it names (the item kind of its key, its update), to see a cycle's round trips.
      if (process.env.ORG_BENCH_TRACE) {
        const input = args.input as { Key?: { pk?: string }; Item?: { pk?: string }; UpdateExpression?: string; IndexName?: string };
        const pk = input.Key?.pk ?? input.Item?.pk ?? input.IndexName ?? '';
        console.error(`store ${name} ${pk.replace(/^A#[^#]+#/, '').replace(/#.*/, '')} ${input.UpdateExpression ?? ''}`);
      }
      return next(args);
    },
    { step: 'initialize', name: 'bench-count-store-requests' },
  );
  return { total: () => [...byCommand.values()].reduce((a, b) => a + b, 0), byCommand };
}

const SAFETY_READ_PATH = /^\/v1\/(campaigns|ad_groups|ads)\/[^/]+$/;
const ACTION_PATH = /\/(pause|activate|archive)$|^\/v1\/(campaigns|ad_groups|ads)\/[^/]+$/;

interface Servers {
  apiUrl: string;
  url: string;
  dynamoEndpoint: string;
  organizations: { key: string; account: string }[];
}

interface LogEntry extends LoggedRequest {
  status: number | null;
  effect?: boolean;
  /** Sandbox seconds when it arrived: the tick (the clock is frozen and set per tick). */
  time: number;
}

function startServers(orgs: number, campaigns: number): { ready: Promise<Servers>; cpuSeconds: () => Promise<number>; stop: () => void } {
  // ORG_BENCH_PROFILE_DIR: a CPU profile of the servers' process, to see where a slow hour goes.
  const profile = process.env.ORG_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ORG_BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', resolve(__dirname, 'org-servers.ts'), String(orgs), String(campaigns), '7', String(HOUR_START_S), JSON.stringify(BENCH_MIX)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const { stdout } = child;
  if (!stdout) throw new Error('org bench servers: no stdout');
  const ready = new Promise<Servers>((resolveLine, reject) => {
    let buffer = '';
    stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line) resolveLine(JSON.parse(line) as Servers);
    });
    child.once('exit', (code) => reject(new Error(`org bench servers exited (${String(code)})`)));
  });
  const cpuSeconds = (): Promise<number> =>
    new Promise((resolveCpu) => {
      child.once('message', (message: { cpu: NodeJS.CpuUsage }) => resolveCpu((message.cpu.user + message.cpu.system) / 1e6));
      child.send('cpu');
    });
  return { ready, cpuSeconds, stop: () => child.kill('SIGTERM') };
}

/** The distinct (level, window) pairs a rule's conditions read. */
function windowsOf(rule: Rule): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n.window === 'string') out.push(`${rule.level}|${n.window}`);
    for (const value of Object.values(n)) {
      if (Array.isArray(value)) value.forEach(walk);
      else if (typeof value === 'object') walk(value);
    }
  };
  walk(rule.when);
  return out;
}

/**
 * The lower bound of one org's hour, from the rules alone (not from what the engine did): at each
 * tick with rules due, one campaign list page per 500 campaigns, and one insights read per
 * distinct (level, window) of the due rules (every generated org has fewer rows than a 2000-row
 * page and under 366 days of history); plus one request per action.
 */
function lowerBound(rules: CompiledRuleSet, ticks: readonly number[], campaigns: number, actions: number): number {
  const groups = scheduleGroups(rules.rules.map((r) => r.rule));
  let total = actions;
  for (const t of ticks) {
    const due = dueAt(groups, t);
    if (!due) continue;
    const windows = new Set(due.ruleIds.flatMap((id) => windowsOf(rules.byId.get(id)?.rule as Rule)));
    total += Math.ceil(campaigns / LIST_PAGE) + windows.size;
  }
  return total;
}

async function setSandboxClock(url: string, nowSeconds: number): Promise<void> {
  const response = await fetch(`${url}/_sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ now: nowSeconds }) });
  if (!response.ok) throw new Error(`sandbox clock: ${response.status} ${await response.text()}`);
}

function buildFleet(servers: Servers, rules: CompiledRuleSet, clock: Clock, store: AuditStore, wrap?: (orgIndex: number) => typeof fetch | undefined): { orgs: FleetOrg[]; clients: ThradClient[] } {
  const groups = scheduleGroups(rules.rules.map((r) => r.rule));
  const clients: ThradClient[] = [];
  const orgs = servers.organizations.map((o, i) => {
    const client = new ThradClient({ baseUrl: servers.apiUrl, keyProvider: new StaticApiKeyProvider(o.key), clock, budget: new RequestBudget(clock), listPageSize: LIST_PAGE, requestTimeoutMs: 60_000, fetch: wrap?.(i) });
    clients.push(client);
    const engine = new Engine({ client, store, rules, notifier: new MemoryNotifier(), clock, accountId: o.account });
    return { orgId: `org-${i}`, accountId: o.account, engine, groups };
  });
  return { orgs, clients };
}

export async function runOrgHourBench(options: { orgs?: number; campaigns?: number; concurrency?: number } = {}): Promise<OrgHourFigures> {
  const orgCount = options.orgs ?? 200;
  const campaigns = options.campaigns ?? 500;
  const concurrency = options.concurrency ?? 8;
  const servers = startServers(orgCount, campaigns);
  try {
    const s = await servers.ready;
    const loaded = loadRules([resolve(__dirname, '..', 'rules')]);
    const rules = compileRuleSet(loaded.rules);
    const clock = new ManualClock(HOUR_START_S * 1000);
    const dynamo = localDynamoClient(s.dynamoEndpoint);
    const store = new AuditStore({ tableName: 'org-hour', client: dynamo, clock });
    await store.ensureTable();
    const { orgs, clients } = buildFleet(s, rules, clock, store);
    // A day-old deployment has each account's capability finding cached (one probe per day).
    const [probeClient] = clients;
    if (!probeClient) throw new Error('no organizations');
    const capabilities = await probeCapabilities(probeClient);
    for (const o of orgs) await store.putCapabilities(o.accountId, probeClient.wireProfile.name, capabilities, 86_400);
    await fetch(`${s.url}/_sandbox/requests`, { method: 'DELETE' });
    const storeRequests = countStoreRequests(dynamo);
    // The hour's item writes, each tagged with its tick, for the I/O floor.
    let tickTag = '';
    const spillFile = join(tmpdir(), `org-hour-writes-${process.pid}.jsonl`);
    const capture = captureItemWrites(dynamo, () => tickTag, { spillTo: spillFile });

    let errors = 0;
    let cycleMs = 0;
    let cycleRequests = 0;
    let cycles = 0;
    const fleet = new Fleet({
      orgs,
      onStart: () => (cycles += 1),
      store,
      concurrency,
      nowMs: () => clock.nowMs(),
      deadlineMs: () => Date.now() + 120_000,
      trigger: 'schedule',
      onError: () => (errors += 1),
      onCycle: (_o, _t, r) => {
        if (r.summary.status === 'failed') errors += 1;
        if (process.env.ORG_BENCH_DEBUG && _o.orgId === 'org-0') console.error(JSON.stringify({ counts: r.summary.counts, errors: r.summary.errors, ms: r.summary.duration_ms, req: r.summary.api_requests }));
        cycleMs += r.summary.duration_ms;
        cycleRequests += r.summary.api_requests;
      },
    });
    let peak = process.memoryUsage.rss();
    // memoryUsage.rss() reads the RSS alone; memoryUsage() also walks the heap spaces (a second of CPU over the hour).
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
    const ticks: number[] = [];
    const serversCpuStarted = await servers.cpuSeconds();
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    for (let t = HOUR_START_S * 1000 + TICK_SECONDS * 1000; t <= (HOUR_START_S + 3_600) * 1000; t += TICK_SECONDS * 1000) {
      clock.set(t);
      tickTag = String(t);
      await setSandboxClock(s.url, t / 1000);
      if (fleet.tick(t) > 0) ticks.push(t);
      await fleet.drain();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    const serversCpu = (await servers.cpuSeconds()) - serversCpuStarted;
    const hourStoreRequests = storeRequests.total();
    if (process.env.ORG_BENCH_DEBUG) console.error(JSON.stringify(Object.fromEntries([...storeRequests.byCommand].map(([k, v]) => [k, Math.round((v / Math.max(1, cycles)) * 100) / 100]))));
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    // After the peak is read: parsing the captured bodies into items is the floor's work, not the hour's.
    // (During the hour the capture spills each write's serialized body to a file, a few thousand at a time.)
    const captured = capture.stopTagged();
    rmSync(spillFile, { force: true });
    if (errors > 0) throw new Error(`${errors} org cycles failed in the org-hour bench`);

    const hourLogs = new Map<string, LogEntry[]>();
    let requests = 0;
    let bound = 0;
    let actions = 0;
    let safetyReads = 0;
    for (const o of s.organizations) {
      const log = ((await (await fetch(`${s.url}/_sandbox/requests?org=${o.account}`)).json()) as { data: LogEntry[] }).data;
      const own = log.filter((r) => r.path.startsWith('/v1/'));
      hourLogs.set(o.account, own);
      const acted = own.filter((r) => r.method === 'POST' && ACTION_PATH.test(r.path)).length;
      actions += acted;
      requests += own.length;
      safetyReads += own.filter((r) => r.method === 'GET' && SAFETY_READ_PATH.test(r.path)).length;
      if (process.env.ORG_BENCH_DEBUG && o === s.organizations[0]) {
        const kinds = new Map<string, number>();
        for (const r of own) {
          const k = `${r.method} ${r.path.replace(/[0-9a-f-]{36}/g, ':id')}`;
          kinds.set(k, (kinds.get(k) ?? 0) + 1);
        }
        console.error(JSON.stringify([...kinds.entries()].sort((a, b) => b[1] - a[1]), null, 1));
      }
      bound += lowerBound(rules, ticks, campaigns, acted);
    }
    // 10× slower: each request of the slow org waits 9× a typical request's share of a cycle.
    const perRequestMs = cycleRequests > 0 ? cycleMs / cycleRequests : 5;
    const fairness = await runFairness(s, rules, store, concurrency, Math.max(1, Math.round(9 * perRequestMs)));
    servers.stop();
    const floor = await runOrgHourFloor(orgCount, campaigns, hourLogs, captured, ticks, concurrency);
    return {
      orgs: orgCount,
      campaigns_per_org: campaigns,
      ticks_per_org: ticks.length,
      org_hour_requests_per_org: Math.round((requests / orgCount) * 100) / 100,
      org_hour_requests_lower_bound_per_org: Math.round((bound / orgCount) * 100) / 100,
      org_hour_safety_reads_per_org: Math.round((safetyReads / orgCount) * 100) / 100,
      org_hour_unexplained_requests: requests - bound - safetyReads,
      org_hour_seconds: Math.round(seconds * 100) / 100,
      org_hour_peak_rss_mb: Math.round(peak / 1024 / 1024),
      org_hour_cycles: cycles,
      org_hour_actions: actions,
      org_hour_store_requests_per_cycle: Math.round((hourStoreRequests / Math.max(1, cycles)) * 100) / 100,
      org_hour_engine_cpu_seconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      org_hour_servers_cpu_seconds: Math.round(serversCpu * 100) / 100,
      org_hour_io_floor_seconds: Math.round(floor.seconds * 100) / 100,
      org_hour_io_floor_servers_cpu_seconds: Math.round(floor.serversCpuSeconds * 100) / 100,
      org_hour_overhead_ratio: Math.round((seconds / floor.seconds) * 100) / 100,
      ...fairness,
    };
  } finally {
    servers.stop();
  }
}

/**
 * The org hour's I/O floor: a second run of the servers (the same generated world, so the same
 * keys, accounts and entities), the clock set to each tick in turn, and at each tick every org
 * that had work (8 at a time, as the fleet runs them) sends its logged requests of that tick in
 * the engine's shape (replayInShape: in order, insights chains two at a time), then writes its items of that tick, 25 to a batch. Nothing is parsed, validated
 * or decided; the logged status calls change the fresh world as the engine's changed the first.
 */
async function runOrgHourFloor(orgCount: number, campaigns: number, logs: ReadonlyMap<string, readonly LogEntry[]>, items: readonly { item: Record<string, AttributeValue>; tag: string }[], ticks: readonly number[], concurrency: number): Promise<{ seconds: number; serversCpuSeconds: number }> {
  const servers = startServers(orgCount, campaigns);
  try {
    const s = await servers.ready;
    const keyOf = new Map(s.organizations.map((o) => [o.account, o.key]));
    const dynamo = localDynamoClient(s.dynamoEndpoint);
    const tableName = 'org-hour-floor';
    await new AuditStore({ tableName, client: dynamo }).ensureTable();
    type OrgTickWork = { requests: LogEntry[]; items: Record<string, AttributeValue>[] };
    const work = new Map<number, Map<string, OrgTickWork>>();
    const slot = (tickMs: number, account: string): OrgTickWork => {
      let byOrg = work.get(tickMs);
      if (!byOrg) work.set(tickMs, (byOrg = new Map<string, OrgTickWork>()));
      let entry = byOrg.get(account);
      if (!entry) byOrg.set(account, (entry = { requests: [], items: [] }));
      return entry;
    };
    for (const [account, entries] of logs) {
      if (!keyOf.has(account)) throw new Error(`org floor: the second run has no organization ${account}`);
      for (const e of entries) slot(e.time * 1000, account).requests.push(e);
    }
    for (const { item, tag } of items) slot(Number(tag), /^A#([^#]+)#/.exec(item.pk?.S ?? '')?.[1] ?? '').items.push(item);
    const unknownTicks = [...work.keys()].filter((t) => !ticks.includes(t));
    if (unknownTicks.length > 0) throw new Error(`org floor: work logged outside the hour's ticks (${unknownTicks.length})`);
    const cpuStarted = await servers.cpuSeconds();
    const started = process.hrtime.bigint();
    for (const t of ticks) {
      await setSandboxClock(s.url, t / 1000);
      await forEachConcurrent([...(work.get(t) ?? new Map<string, OrgTickWork>()).entries()], concurrency, async ([account, w]) => {
        await replayInShape(w.requests, (request) => replayRequest(s.url, keyOf.get(account) ?? '', request));
        for (const batch of batchesOf(w.items)) await writeBatch({ dynamo, tableName }, batch);
      });
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, serversCpuSeconds: (await servers.cpuSeconds()) - cpuStarted };
  } finally {
    servers.stop();
  }
}

/**
 * Fairness, on the real runner's path (the local scheduler on a clock running 60× real time, the
 * first FAIRNESS_ORGS orgs): a simulated quarter hour as they are, then the next with org 0 made
 * 10× slower (each of its requests waits nine times a typical request's share of a cycle). The
 * figure is how much later, in ticks, any other org's cycle started than the worst start of the
 * baseline quarter: the delay the slow org causes, apart from what the machine's size causes.
 */
async function runFairness(s: Servers, rules: CompiledRuleSet, store: AuditStore, concurrency: number, delayMs: number): Promise<{ fairness_max_tick_delay: number; fairness_slow_org_cycles: number; fairness_slow_request_delay_ms: number; fairness_baseline_worst_start_ms: number; fairness_worst_start_ms: number }> {
  const quarter = 15 * 60_000;
  const baseline = await fairnessQuarter(s, rules, store, concurrency, (HOUR_START_S + 3_600) * 1000, quarter, null);
  const slowed = await fairnessQuarter(s, rules, store, concurrency, (HOUR_START_S + 3_600) * 1000 + quarter, quarter, delayMs);
  const worst = (starts: readonly FleetStart[]): number => Math.max(0, ...starts.filter((x) => x.orgId !== 'org-0').map((x) => x.startedAtMs - x.tickMs));
  const baselineWorst = worst(baseline);
  const slowedWorst = worst(slowed);
  return {
    fairness_max_tick_delay: Math.max(0, Math.ceil((slowedWorst - baselineWorst) / (TICK_SECONDS * 1000))),
    fairness_slow_org_cycles: slowed.filter((x) => x.orgId === 'org-0').length,
    fairness_slow_request_delay_ms: delayMs,
    fairness_baseline_worst_start_ms: Math.round(baselineWorst),
    fairness_worst_start_ms: Math.round(slowedWorst),
  };
}

async function fairnessQuarter(s: Servers, rules: CompiledRuleSet, store: AuditStore, concurrency: number, startMs: number, lengthMs: number, slowDelayMs: number | null): Promise<FleetStart[]> {
  await setSandboxClock(s.url, startMs / 1000);
  const speed = 60;
  const clock = new ScaledClock(startMs, speed);
  const slowFetch: typeof fetch = async (input, init) => {
    await new Promise((r) => setTimeout(r, slowDelayMs ?? 0));
    return fetch(input, init);
  };
  // Enough orgs to fill the pool several times over, few enough that the fleet keeps up with a
  // clock 60× real time on this machine.
  const { orgs } = buildFleet({ ...s, organizations: s.organizations.slice(0, FAIRNESS_ORGS) }, rules, clock, store, (i) => (i === 0 && slowDelayMs !== null ? slowFetch : undefined));
  const started: FleetStart[] = [];
  const fleet = new Fleet({ orgs, store, concurrency, nowMs: () => clock.nowMs(), deadlineMs: () => Date.now() + 120_000, trigger: 'schedule', onStart: (x) => started.push(x) });
  const scheduler = new LocalScheduler({
    groups: fleet.unionGroups(),
    clock,
    wait: waitForClock(clock, speed),
    runTick: (_due, at) => {
      void setSandboxClock(s.url, Math.floor(clock.nowMs() / 1000)).catch(() => undefined);
      fleet.tick(at);
      return Promise.resolve();
    },
  });
  await scheduler.run(new AbortController().signal, { fromMs: startMs, untilMs: startMs + lengthMs });
  await fleet.drain();
  return started;
}

if (require.main === module) {
  void runOrgHourBench({ orgs: Number(process.argv[2] ?? 200), campaigns: Number(process.argv[3] ?? 500) }).then((f) => console.log(JSON.stringify(f, null, 2)));
}
