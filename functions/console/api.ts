// The console's JSON endpoints under /api/: one registry of routes, each with its method, its
// path, the zod schemas of its query and body, and a handler that calls the same code as the CLI
// command it mirrors (audit's store query, preview's engine, approve/reject's approval module,
// simulate's simulator). Input problems are ConsoleInputErrors naming the field; nothing here
// reads or returns the API key.
import { resolve } from 'node:path';
import * as z from 'zod';
import { OUTCOMES, type DecisionRecord } from '../audit/records';
import { approveProposal, pendingProposals, proposedChange, rejectProposal } from '../engine/approval';
import { describeExplanation } from '../engine/describe';
import type { LocalConfig } from '../local/config';
import type { LocalEnvironment } from '../local/environment';
import { compileRuleSet } from '../rules/compile';
import { formatIssue } from '../rules/errors';
import { nextFireAfter } from '../rules/schedule';
import { loadRules } from '../rules/validate';
import { SimulationInputError, SimulationInterruptedError } from '../sim/errors';
import { parseEvents, type SimEvent } from '../sim/events';
import { runSimulation } from '../sim/simulate';
import { FixtureError, loadAnyFixtureFile, parseAnyFixture, type AnyFixture } from '../../sandbox/fixture';
import { approvalRules, approvalWords, personName, rejectionWords } from '../cli/approvals';
import { parseTime, TIME_FORMS } from '../cli/args';
import { FlagValueError, RulesUnavailableError } from '../cli/errors';
import type { Output } from '../cli/output';
import { previewRules } from '../cli/preview';
import { forOrg, displayTimeZone } from '../cli/shared';
import { parseUntil, readEvents, simulatedAccount, simulationRules } from '../cli/simulate';
import type { OrgEntry } from '../orgs/schema';
import { ConsoleConflictError, ConsoleError, ConsoleInputError, ConsoleNotFoundError } from './errors';

/** What every handler reads: the environment the CLI opened, and the command's context. */
export interface ConsoleDeps {
  environment: LocalEnvironment;
  config: LocalConfig;
  cwd: string;
  env: NodeJS.ProcessEnv;
  io: Output;
  org?: OrgEntry;
  /** The --rules flag as given (for messages). */
  rulesFlag?: string;
}

export interface Reply {
  status: number;
  body: unknown;
}

interface RouteInput<Q, B> {
  params: Record<string, string>;
  query: Q;
  body: B;
  /** Aborted when the request's connection closes before the answer (the page left, the console stops). */
  signal: AbortSignal;
}

export interface Route {
  method: 'GET' | 'POST';
  /** The path, with `:name` segments. */
  path: string;
  pattern: RegExp;
  /** Whether the route takes a JSON body. */
  hasBody: boolean;
  run(deps: ConsoleDeps, params: Record<string, string>, query: URLSearchParams, body: unknown, signal?: AbortSignal): Promise<Reply>;
}

/** The first zod issue as a ConsoleInputError naming its field (`where.path`). */
function inputError(where: string, error: z.ZodError): ConsoleInputError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  return new ConsoleInputError(path === '' ? where : `${where === 'body' ? '' : `${where}.`}${path}`, issue?.message ?? 'invalid');
}

function route<Q extends z.ZodType, B extends z.ZodType>(spec: { method: 'GET' | 'POST'; path: string; query: Q; body?: B; handle: (deps: ConsoleDeps, input: RouteInput<z.infer<Q>, z.infer<B>>) => Promise<Reply> }): Route {
  const pattern = new RegExp(`^${spec.path.replace(/:([a-z]+)/g, '(?<$1>[^/]+)')}$`);
  return {
    method: spec.method,
    path: spec.path,
    pattern,
    hasBody: spec.body !== undefined,
    run: async (deps, params, rawQuery, rawBody, signal = new AbortController().signal) => {
      const query = spec.query.safeParse(Object.fromEntries(rawQuery.entries()));
      if (!query.success) throw inputError('query', query.error);
      let body: z.infer<B> | undefined;
      if (spec.body !== undefined) {
        const parsed = spec.body.safeParse(rawBody);
        if (!parsed.success) throw inputError('body', parsed.error);
        body = parsed.data;
      }
      return spec.handle(deps, { params, query: query.data, body: body as z.infer<B>, signal });
    },
  };
}

const noQuery = z.strictObject({});
const timeText = z.string().trim().min(1).refine((v) => parseTime(v, 0) !== null, { message: `expected ${TIME_FORMS}` });
const idText = z.string().trim().min(1).max(200);
const personText = z.string().trim().min(1).max(100);

/** A decision as the page shows it: the record, and its "why" in words. */
function decisionView(d: DecisionRecord): DecisionRecord & { why: string; change: string } {
  const why = d.explanation ? describeExplanation(d.explanation, d.outcome === 'insufficient_data' ? 'insufficient_data' : 'match') : '';
  return { ...d, why: why === '' ? d.reason : why, change: proposedChange(d) };
}

/** The rule files as they are now (edits show on the next request), narrowed to the org's rules. */
function currentRules(deps: ConsoleDeps): { loaded: ReturnType<typeof loadRules>; missing: boolean } {
  const loaded = loadRules([deps.config.rulesDir], deps.cwd);
  const missing = loaded.files.length === 0 && loaded.issues.length === 0;
  return { loaded: forOrg(loaded, { io: deps.io, org: deps.org }), missing };
}

const NEXT_RUNS = 3;

const rulesRoute = route({
  method: 'GET',
  path: '/api/rules',
  query: noQuery,
  handle: (deps) => {
    const nowMs = deps.environment.clock.nowMs();
    const { loaded, missing } = currentRules(deps);
    const compiled = compileRuleSet(loaded.rules);
    const rules = compiled.rules.map((c) => {
      const next: string[] = [];
      for (let at = c.rule.enabled ? nextFireAfter(c.schedule, c.rule.schedule.timezone, nowMs) : null; at !== null && next.length < NEXT_RUNS; at = nextFireAfter(c.schedule, c.rule.schedule.timezone, at)) next.push(new Date(at).toISOString());
      const r = c.rule;
      return { id: r.id, description: r.description ?? '', enabled: r.enabled, mode: r.mode, level: r.level, action: r.then.action, priority: r.priority, schedule: { expression: r.schedule.expression, timezone: r.schedule.timezone }, next_runs: next, file: c.file };
    });
    const issues = missing ? [`No rule files in ${deps.config.rulesDir}`] : loaded.issues.map((i) => formatIssue(i));
    return Promise.resolve({ status: 200, body: { now: new Date(nowMs).toISOString(), rules_dir: deps.config.rulesDir, rules, issues } });
  },
});

const statusRoute = route({
  method: 'GET',
  path: '/api/status',
  query: noQuery,
  handle: async (deps) => ({
    status: 200,
    body: {
      now: new Date(deps.environment.clock.nowMs()).toISOString(),
      api: deps.environment.describeApi,
      store: deps.environment.describeStore,
      account_id: await deps.environment.accountId(),
      org_id: deps.org?.org_id ?? null,
      rules_dir: deps.config.rulesDir,
      time_zone: displayTimeZone(deps.config, { io: deps.io, cwd: deps.cwd, env: deps.env }, false),
      outcomes: [...OUTCOMES, 'pending'],
    },
  }),
});

export const FEED_MAX_LIMIT = 1000;

const decisionsRoute = route({
  method: 'GET',
  path: '/api/decisions',
  query: z.strictObject({
    rule: idText.optional(),
    entity: idText.optional(),
    outcome: z.enum([...OUTCOMES, 'pending']).optional(),
    since: timeText.optional(),
    until: timeText.optional(),
    limit: z.coerce.number().int().min(1).max(FEED_MAX_LIMIT).default(100),
  }),
  handle: async (deps, { query }) => {
    const nowMs = deps.environment.clock.nowMs();
    // A date is its midnight in the zone the console shows times in.
    const timeZone = displayTimeZone(deps.config, { io: deps.io, cwd: deps.cwd, env: deps.env }, false);
    const decisions = await deps.environment.store.queryDecisions(await deps.environment.accountId(), {
      ruleId: query.rule,
      entityId: query.entity,
      outcome: query.outcome,
      // Without --since, the store's retention: nothing older is kept, and the feed, polled every
      // second, then reads a year of months rather than every month since 1970.
      sinceMs: query.since === undefined ? nowMs - deps.environment.store.retentionDays * 86_400_000 : (parseTime(query.since, nowMs, timeZone) ?? undefined),
      untilMs: query.until === undefined ? undefined : (parseTime(query.until, nowMs, timeZone) ?? undefined),
      limit: query.limit,
    });
    return { status: 200, body: { now: new Date(nowMs).toISOString(), decisions: decisions.map(decisionView) } };
  },
});

/** Why a rule did or did not pick the entity: one row per enabled rule. */
interface RuleVerdict {
  rule_id: string;
  action: string;
  level: string;
  verdict: 'match' | 'insufficient_data' | 'no_match' | 'out_of_scope' | 'other_level' | 'data_unavailable';
  outcome: string | null;
  reason: string;
  explanation: unknown;
}

const entityRoute = route({
  method: 'GET',
  path: '/api/entities/:id',
  query: noQuery,
  handle: async (deps, { params }) => {
    const id = params.id ?? '';
    const accountId = await deps.environment.accountId();
    const history = await deps.environment.store.queryDecisions(accountId, { entityId: id, limit: 200 });
    const { loaded } = currentRules(deps);
    const ruleSet = compileRuleSet(loaded.rules);
    const enabled = ruleSet.rules.filter((r) => r.rule.enabled);
    const preview = await previewRules(deps.environment, deps.config, ruleSet, { ruleIds: enabled.map((r) => r.id), entityId: id });
    const entity = preview.focus?.entity ?? null;
    if (entity === null && history.length === 0) throw new ConsoleNotFoundError(`No entity ${id} in the lists the rules read, nor in the audit trail.`);
    const level = entity?.level ?? history[0]?.level;
    const rules: RuleVerdict[] = enabled.map((c) => {
      const base = { rule_id: c.id, action: c.rule.then.action, level: c.rule.level };
      const entry = preview.entries.find((e) => e.rule_id === c.id);
      if (entry?.outcome === 'data_unavailable') return { ...base, verdict: 'data_unavailable', outcome: entry.outcome, reason: entry.reason, explanation: null };
      if (entry) return { ...base, verdict: entry.verdict, outcome: entry.outcome, reason: entry.outcome === 'would_act' ? `would ${entry.action}: ${describeExplanation(entry.explanation, 'match')}` : entry.verdict === 'insufficient_data' ? describeExplanation(entry.explanation, 'insufficient_data') : `${entry.outcome.replace(/_/g, ' ')}: ${entry.reason}`, explanation: entry.explanation };
      const miss = preview.focus?.misses.find((m) => m.rule_id === c.id);
      if (miss) return { ...base, verdict: miss.verdict, outcome: null, reason: miss.verdict === 'out_of_scope' ? "not in the rule's scope" : 'its conditions are not all met', explanation: miss.explanation };
      return { ...base, verdict: 'other_level', outcome: null, reason: `the rule acts on ${c.rule.level.replace('_', ' ')}s${level ? `, this is a ${level.replace('_', ' ')}` : ''}`, explanation: null };
    });
    const current = entity === null
      ? null
      : {
          id: entity.id,
          level: entity.level,
          name: entity.name,
          status: entity.status,
          review_status: entity.reviewStatus,
          budget_usd: entity.budgetMicros === null || entity.budgetMicros === undefined ? null : entity.budgetMicros / 1_000_000,
          max_bid_usd: entity.maxBidMicros === null || entity.maxBidMicros === undefined ? null : entity.maxBidMicros / 1_000_000,
          updated_at: entity.updatedAt === null ? null : new Date(entity.updatedAt * 1000).toISOString(),
          created_at: entity.createdAt === null ? null : new Date(entity.createdAt * 1000).toISOString(),
          campaign_id: entity.campaignId,
          ad_group_id: entity.adGroupId,
          campaign_status: entity.campaignStatus,
          ad_group_status: entity.adGroupStatus,
        };
    return { status: 200, body: { evaluated_at: preview.evaluated_at, id, name: entity?.name ?? history[0]?.entity_name ?? id, level: level ?? null, current, rules, history: history.map(decisionView) } };
  },
});

const approvalsRoute = route({
  method: 'GET',
  path: '/api/approvals',
  query: noQuery,
  handle: async (deps) => {
    const { pending, expired } = await pendingProposals(deps.environment.store, await deps.environment.accountId(), deps.environment.clock.nowMs());
    return { status: 200, body: { pending: pending.map(decisionView), expired: expired.length } };
  },
});

/** Approving acts on the world the proposal saw: without a key, only the running autopilot's sandbox (as `thrad-rules approve`). */
function requireLiveWorld(deps: ConsoleDeps): void {
  if (deps.environment.mode === 'sandbox' && deps.environment.sandbox !== undefined) {
    throw new ConsoleConflictError('No autopilot sandbox is running: this console started its own demo sandbox, which is not the world the proposals were made on. Start the autopilot (npm start) and this console in another terminal, or set THRAD_ADS_API_KEY to use the real API.');
  }
}

const approveRoute = route({
  method: 'POST',
  path: '/api/approvals/:id/approve',
  query: noQuery,
  body: z.strictObject({ by: personText.optional() }),
  handle: async (deps, { params, body }) => {
    requireLiveWorld(deps);
    const id = params.id ?? '';
    const result = await approveProposal({ client: deps.environment.client, store: deps.environment.store, clock: deps.environment.clock, rules: approvalRules(deps.config.rulesDir, deps.cwd) }, await deps.environment.accountId(), id, { deadlineMs: Date.now() + 60_000, by: personName(body.by, deps.env) });
    const said = approvalWords(result, id, displayTimeZone(deps.config, { io: deps.io, cwd: deps.cwd, env: deps.env }, false));
    const status = result.status === 'approved' ? 200 : result.status === 'refused' ? 409 : 502;
    return { status, body: { status: result.status, message: said.line, record: 'record' in result ? decisionView(result.record) : null } };
  },
});

const rejectRoute = route({
  method: 'POST',
  path: '/api/approvals/:id/reject',
  query: noQuery,
  body: z.strictObject({ by: personText.optional(), reason: z.string().trim().max(500).optional() }),
  handle: async (deps, { params, body }) => {
    const id = params.id ?? '';
    const result = await rejectProposal({ store: deps.environment.store, clock: deps.environment.clock }, await deps.environment.accountId(), id, { by: personName(body.by, deps.env), note: body.reason || null });
    const said = rejectionWords(result, id, displayTimeZone(deps.config, { io: deps.io, cwd: deps.cwd, env: deps.env }, false));
    return { status: result.status === 'rejected' ? 200 : 409, body: { status: result.status, message: said.line, record: result.status === 'rejected' ? decisionView(result.proposal) : null } };
  },
});

/** A file the simulator reads: a path (relative to where the console was started) or its JSON, uploaded. */
const sourceSchema = z.union([z.strictObject({ path: z.string().trim().min(1) }), z.strictObject({ json: z.unknown(), name: z.string().max(200).optional() })], { error: 'expected {"path": "file.json"} or {"json": <the file\'s content>, "name": "file.json"}' });
type Source = z.infer<typeof sourceSchema>;

function fixtureFrom(deps: ConsoleDeps, source: Source): { fixture: AnyFixture; name: string } {
  try {
    if ('path' in source) return { fixture: loadAnyFixtureFile(resolve(deps.cwd, source.path)), name: source.path };
    const name = source.name ?? 'the uploaded fixture';
    return { fixture: parseAnyFixture(source.json, name), name };
  } catch (error) {
    if (error instanceof FixtureError) throw new ConsoleInputError('fixture', error.message, { cause: error });
    throw error;
  }
}

function eventsFrom(deps: ConsoleDeps, source: Source | undefined): { events: SimEvent[]; name: string | undefined } {
  if (source === undefined) return { events: [], name: undefined };
  try {
    if ('path' in source) return { events: readEvents(resolve(deps.cwd, source.path)), name: source.path };
    const name = source.name ?? 'the uploaded events';
    return { events: parseEvents(source.json, name), name };
  } catch (error) {
    if (error instanceof SimulationInputError) throw new ConsoleInputError('events', error.message, { cause: error });
    throw error;
  }
}

const simulateRoute = route({
  method: 'POST',
  path: '/api/simulate',
  query: noQuery,
  body: z.strictObject({ fixture: sourceSchema, events: sourceSchema.optional(), until: z.string().trim().min(1), account: z.string().trim().min(1).optional() }),
  handle: async (deps, { body, signal }) => {
    const { fixture, name: fixtureFile } = fixtureFrom(deps, body.fixture);
    if (fixture.now === undefined) throw new ConsoleInputError('fixture', `${fixtureFile}: now: the fixture needs "now" (Unix seconds): the simulation starts there`);
    let untilMs: number;
    try {
      untilMs = parseUntil(body.until, fixture.now * 1000);
    } catch (error) {
      if (error instanceof FlagValueError) throw new ConsoleInputError('until', `expected ${error.expected}, found "${body.until}"`, { cause: error });
      throw error;
    }
    const { events, name: eventsFile } = eventsFrom(deps, body.events);
    let rules;
    try {
      rules = simulationRules(deps.config.rulesDir, { io: deps.io, cwd: deps.cwd, env: deps.env, org: deps.org }, deps.rulesFlag);
    } catch (error) {
      if (error instanceof RulesUnavailableError || error instanceof SimulationInputError) throw new ConsoleConflictError(`The rules cannot be simulated: ${error.message}`);
      throw error;
    }
    try {
      // A fixture of several organizations: the account whose rules run, chosen as `simulate --account` chooses it.
      const account = simulatedAccount(fixture, body.account, deps.env);
      // Stopped when the page that asked goes away: a long --until would otherwise simulate on, unseen.
      const result = await runSimulation({ fixture, fixtureFile, account, rules, untilMs, events, eventsFile, maxChangeFraction: deps.config.maxChangeFraction, signal });
      return {
        status: 200,
        body: {
          from: new Date(fixture.now * 1000).toISOString(),
          until: new Date(untilMs).toISOString(),
          runs: result.runs,
          requests: result.requests,
          decisions: result.decisions.map(decisionView),
          events: result.events.map((e) => ({ ...e.event, ok: e.ok, detail: e.detail })),
          final: result.final,
        },
      };
    } catch (error) {
      if (error instanceof SimulationInterruptedError) throw new ConsoleError(`The simulation was stopped: the request closed before it ended (at ${new Date(error.atMs).toISOString()}, simulated, after ${error.runs} runs).`, 503, { cause: error });
      if (error instanceof SimulationInputError) throw new ConsoleInputError(error.file === '--until' ? 'until' : error.file === eventsFile ? 'events' : 'fixture', error.message, { cause: error });
      throw error;
    }
  },
});

/** Every endpoint of the console; the server looks requests up here. */
export const ROUTES: readonly Route[] = [statusRoute, rulesRoute, decisionsRoute, entityRoute, approvalsRoute, approveRoute, rejectRoute, simulateRoute];
