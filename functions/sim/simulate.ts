// The simulator: how rules interact over time, before they go live. It starts the bundled sandbox
// from a fixture with its clock frozen at the fixture's `now`, opens a fresh in-memory store, and
// steps the clock through every scheduled occurrence of every enabled rule up to `until`, in each
// rule's time zone with the live runner's schedule semantics (DST included). Occurrences at one
// instant run as one tick, as the runner runs them; events at an instant are applied first,
// through the /v1 API as a person would (undo through the same code as `thrad-rules undo`). The
// sandbox's traffic model delivers as the clock moves. Deterministic: the same inputs give the
// same decisions, ids included.
import type { DecisionRecord } from '../audit/records';
import { AuditStore } from '../audit/store';
import { Engine } from '../engine/cycle';
import { noNotifications } from '../engine/notifier';
import { undoDecision } from '../engine/undo';
import { startEmbeddedDynamo } from '../local/dynalite';
import { LocalScheduler } from '../local/scheduler';
import type { CompiledRuleSet } from '../rules/compile';
import { scheduleGroups } from '../rules/groups';
import { systemClock } from '../shared/clock';
import { ThradClient } from '../thrad/client';
import { StaticApiKeyProvider } from '../thrad/keys';
import { LEVEL_COLLECTION } from '../thrad/wire';
import { organizationsOf, type AnyFixture, type FixtureOrganization } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import type { World } from '../../sandbox/world';
import { SimulationInputError, SimulationInterruptedError } from './errors';
import type { SimEvent } from './events';

export interface EventOutcome {
  event: SimEvent;
  ok: boolean;
  detail: string;
}

export interface FinalState {
  campaigns: { id: string; name: string; status: string; review_status: string; lifetime_spend_limit_micros: number }[];
  ad_groups: { id: string; campaign_id: string; status: string; max_bid_micros: number | null }[];
  ads: { id: string; ad_group_id: string; status: string }[];
}

export interface SimulationResult {
  decisions: DecisionRecord[];
  events: EventOutcome[];
  final: FinalState;
  /** Engine runs (ticks). */
  runs: number;
  /** The engine's own /v1 requests (not the person's). */
  requests: number;
}

/** What a property test sees after every instant. */
export interface SimStep {
  atMs: number;
  world: World;
  decisions: readonly DecisionRecord[];
  events: readonly EventOutcome[];
}

export interface SimulationOptions {
  /** One organization, or several (`organizations`): then `account` names the one simulated. */
  fixture: AnyFixture;
  /**
   * The ad account id of the fixture's organization whose rules run (its key is the engine's, its
   * records are under its account). Needed when the fixture holds several organizations; the
   * others are in the same world and on the same clock, and their entities are not this org's.
   */
  account?: string;
  /** Where the fixture came from, for messages. */
  fixtureFile?: string;
  rules: CompiledRuleSet;
  untilMs: number;
  events?: readonly SimEvent[];
  eventsFile?: string;
  onDecision?: (record: DecisionRecord) => void;
  onEvent?: (outcome: EventOutcome) => void;
  onStep?: (step: SimStep) => Promise<void> | void;
  /** The engine-wide safety limit of one money change (default 50%). */
  maxChangeFraction?: number;
  /** Stops the simulation between ticks (Ctrl-C): it then throws a SimulationInterruptedError. */
  signal?: AbortSignal;
}

function checkInputs(options: SimulationOptions): { nowMs: number; events: SimEvent[] } {
  if (options.fixture.now === undefined) throw new SimulationInputError(options.fixtureFile ?? 'fixture', ['now: the fixture needs "now" (Unix seconds): the simulation starts there']);
  const nowMs = options.fixture.now * 1000;
  if (options.untilMs <= nowMs) throw new SimulationInputError('--until', [`must be after the fixture's now (${new Date(nowMs).toISOString()})`]);
  const problems: string[] = [];
  const events = (options.events ?? []).map((e, i) => ({ e, i, ms: Date.parse(e.at) }));
  for (const { e, i, ms } of events) {
    if (ms < nowMs) problems.push(`[${i}].at: ${e.at} is before the fixture's now (${new Date(nowMs).toISOString()})`);
    if (ms > options.untilMs) problems.push(`[${i}].at: ${e.at} is after --until (${new Date(options.untilMs).toISOString()})`);
  }
  if (problems.length > 0) throw new SimulationInputError(options.eventsFile ?? 'events', problems);
  // In time order; events at one instant in the file's order.
  return { nowMs, events: events.sort((a, b) => a.ms - b.ms || a.i - b.i).map((x) => x.e) };
}

/** The fixture organization the simulation serves: the one named, or the only one. */
export function simulatedOrganization(fixture: AnyFixture, account: string | undefined, source = 'fixture'): FixtureOrganization {
  const organizations = organizationsOf(fixture);
  const accounts = organizations.map((o) => o.account.id);
  if (account !== undefined) {
    const found = organizations.find((o) => o.account.id === account);
    if (!found) throw new SimulationInputError(source, [`no organization with ad account "${account}": its organizations are ${accounts.join(', ')}`]);
    return found;
  }
  if (organizations.length === 1 && organizations[0]) return organizations[0];
  throw new SimulationInputError(source, [`organizations: the fixture holds ${organizations.length} organizations (ad accounts ${accounts.join(', ')}); name the one to simulate with --account ID, or --orgs FILE --org ID whose entry has its ad_account_id or its key`]);
}

function finalState(world: World, accountId: string): FinalState {
  world.sync();
  const org = world.organization(accountId);
  const campaignIds = new Set(org ? org.campaigns.keys() : []);
  const groupIds = new Set([...world.adGroups.values()].filter((g) => campaignIds.has(g.campaign_id)).map((g) => g.id));
  return {
    campaigns: [...world.campaigns.values()].filter((c) => campaignIds.has(c.id)).map((c) => ({ id: c.id, name: c.name, status: c.status, review_status: c.review_status, lifetime_spend_limit_micros: c.budget_micros })),
    ad_groups: [...world.adGroups.values()].filter((g) => groupIds.has(g.id)).map((g) => ({ id: g.id, campaign_id: g.campaign_id, status: g.status, max_bid_micros: g.max_bid_micros })),
    ads: [...world.ads.values()].filter((a) => groupIds.has(a.ad_group_id)).map((a) => ({ id: a.id, ad_group_id: a.ad_group_id, status: a.status })),
  };
}

/** A person's action through the API (or staff's verdict through the control API). */
async function applyEvent(event: SimEvent, ctx: { sandbox: Sandbox; key: string; store: AuditStore; personClient: ThradClient; accountId: string }): Promise<EventOutcome> {
  const { sandbox, key } = ctx;
  const post = async (url: string, body: unknown): Promise<{ ok: boolean; detail: string }> => {
    const response = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await response.json()) as { status?: string; updated_at?: number; review_status?: string; error?: { code?: string; message?: string } };
    if (!response.ok) return { ok: false, detail: `${response.status} ${json.error?.code ?? 'error'}: ${json.error?.message ?? ''}`.trim() };
    return { ok: true, detail: `now ${json.status ?? 'ok'}${json.review_status === undefined ? '' : `, ${json.review_status}`}${json.updated_at === undefined ? '' : ` (updated_at ${new Date(json.updated_at * 1000).toISOString()})`}` };
  };
  switch (event.do) {
    case 'pause':
    case 'activate':
    case 'archive':
      return { event, ...(await post(`${sandbox.apiUrl}/${LEVEL_COLLECTION[event.level]}/${encodeURIComponent(event.id)}/${event.do}`, {})) };
    case 'update':
      return { event, ...(await post(`${sandbox.apiUrl}/${LEVEL_COLLECTION[event.level]}/${encodeURIComponent(event.id)}`, event.body)) };
    case 'review':
      // Staff's verdict comes through the control API, which spans organizations: keep it to this one's.
      if (!sandbox.world.organization(ctx.accountId)?.campaigns.has(event.id)) return { event, ok: false, detail: `campaign ${event.id} is not the simulated organization's (ad account ${ctx.accountId})` };
      return { event, ...(await post(`${sandbox.url}/_sandbox/campaigns/${encodeURIComponent(event.id)}/review`, { review_status: event.review_status })) };
    case 'undo': {
      const latest = (await ctx.store.queryDecisions(ctx.accountId, { entityId: event.entity, ruleId: event.rule, limit: 1_000 })).find((d) => d.outcome === 'acted');
      if (!latest) return { event, ok: false, detail: `no acted decision of ${event.rule} on ${event.entity} to undo` };
      const result = await undoDecision({ client: ctx.personClient, store: ctx.store, clock: sandbox.world.clock }, ctx.accountId, latest.decision_id, { deadlineMs: Date.now() + 60_000 });
      if (result.status === 'undone') return { event, ok: true, detail: `undid ${latest.decision_id}: ${result.record.action ?? ''} → ${result.record.status_after ?? ''} (recorded as ${result.record.decision_id})` };
      return { event, ok: false, detail: result.status === 'refused' ? `refused: ${result.reason}` : result.status === 'unconfirmed' ? `unconfirmed: ${result.reason}` : `failed: ${result.record.reason}` };
    }
  }
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { nowMs, events } = checkInputs(options);
  const fixture = { ...options.fixture, clock_speed: 0 };
  const organization = simulatedOrganization(fixture, options.account, options.fixtureFile);
  // The organization's active key (one without an expiry), else its first.
  const keys = organization.api_keys.map((k) => (typeof k === 'string' ? { key: k, expires_at: null } : k));
  const key = (keys.find((k) => k.expires_at === null) ?? keys[0]).key;
  const sandbox = await startSandbox({ fixture, port: 0, clockSpeed: 0 });
  const dynamo = await startEmbeddedDynamo();
  try {
    const clock = sandbox.world.clock;
    const store = new AuditStore({ tableName: 'simulate', client: dynamo.client, clock, realClock: systemClock });
    await store.ensureTable();
    const accountId = organization.account.id;
    const client = new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(key), clock });
    const personClient = new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(key), clock });
    const decisions: DecisionRecord[] = [];
    const outcomes: EventOutcome[] = [];
    let runs = 0;
    const engine = new Engine({
      client,
      store,
      rules: options.rules,
      notifier: noNotifications,
      clock,
      accountId,
      maxChangeFraction: options.maxChangeFraction,
      newRunId: () => `run_sim_${String(runs).padStart(6, '0')}`,
      shared: false,
      onDecision: (record) => {
        decisions.push(record);
        options.onDecision?.(record);
      },
    });
    let next = 0;
    const step = async (atMs: number): Promise<void> => options.onStep?.({ atMs, world: sandbox.world, decisions, events: outcomes });
    /** Move the clock to `untilMs`, applying every event due by then at its own instant first. */
    const advanceTo = async (untilMs: number): Promise<void> => {
      while (next < events.length && Date.parse(events[next].at) <= untilMs) {
        const event = events[next];
        next += 1;
        const at = Date.parse(event.at);
        if (at > clock.nowMs()) clock.set(at);
        const outcome = await applyEvent(event, { sandbox, key, store, personClient, accountId });
        outcomes.push(outcome);
        options.onEvent?.(outcome);
        if (next >= events.length || Date.parse(events[next].at) !== at) {
          if (at !== untilMs) await step(at);
        }
      }
      if (untilMs > clock.nowMs()) clock.set(untilMs);
    };
    const scheduler = new LocalScheduler({
      groups: scheduleGroups(options.rules.rules.map((r) => r.rule)),
      clock,
      wait: (untilMs) => advanceTo(untilMs),
      runTick: async (due, atMs) => {
        runs += 1;
        // One process, one clock: no claim is needed to keep a second delivery out.
        await engine.runCycle({ ruleIds: due.flatMap((g) => g.ruleIds), scheduledTime: atMs, scheduleId: null, deadlineMs: Date.now() + 60_000, trigger: 'simulate' });
        await step(atMs);
      },
    });
    const signal = options.signal ?? new AbortController().signal;
    await scheduler.run(signal, { fromMs: nowMs, untilMs: options.untilMs });
    if (signal.aborted) throw new SimulationInterruptedError(clock.nowMs(), runs);
    await advanceTo(options.untilMs);
    await step(options.untilMs);
    return { decisions, events: outcomes, final: finalState(sandbox.world, accountId), runs, requests: client.budget.totalTaken };
  } finally {
    await sandbox.close();
    await dynamo.close();
  }
}
