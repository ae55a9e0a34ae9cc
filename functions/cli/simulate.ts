// `thrad-rules simulate`: how the rules interact over simulated time, with people acting between
// runs, before anything goes live. The simulator (functions/sim) does the work; this is its
// command line: flags, the events file, and the output (the runner's decision lines, or JSON).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile';
import { loadConfig } from '../local/config';
import { decisionLine, localStamp } from '../local/format';
import { SimulationInputError } from '../sim/errors';
import { parseEvents, type SimEvent } from '../sim/events';
import { runSimulation, type EventOutcome } from '../sim/simulate';
import { isMultiOrgFixture, loadAnyFixtureFile, organizationsOf, type AnyFixture } from '../../sandbox/fixture';
import { parseIsoInstant } from '../shared/timezone';
import { API_KEY_ENV } from '../thrad/keys';
import { DURATION_MS, parseDurationMs, parseFlags } from './args';
import { FlagValueError, UsageError } from './errors';
import { EXIT } from './output';
import { loadRuleFolder, type CommandContext } from './shared';

/** The longest span `simulate` runs: a year and a day. */
export const MAX_SIMULATED_DAYS = 366;

export const SIMULATE_HELP = `Usage: thrad-rules simulate --fixture F.json --until T [--events E.json] [--rules DIR] [--account ID] [--json]

Shows how the rules interact before they go live. Starts the bundled sandbox from the fixture
with its clock frozen at the fixture's "now", and steps it through every scheduled occurrence of
every enabled rule up to T (each in its time zone, DST included; occurrences at one instant run
together, as the autopilot runs them). Events (what people do between runs) are applied at their
time, before the occurrences of the same instant. Deterministic, in seconds; nothing real is touched.

  --fixture F.json  the world (the sandbox fixture format; sandbox/fixtures/demo.json is one)
  --until T         an ISO 8601 time (2026-11-27T07:00:00Z), or a duration from the fixture's
                    now: 90m, 12h, 3d, 2w (at most ${MAX_SIMULATED_DAYS} days after it)
  --events E.json   a JSON array of events:
                      {"at": ISO, "do": "pause"|"activate"|"archive", "level": "campaign"|"ad_group"|"ad", "id": "..."}
                      {"at": ISO, "do": "review", "id": "...", "review_status": "approved"|"rejected"}
                      {"at": ISO, "do": "update", "level": "...", "id": "...", "body": {...}}   (an API update body)
                      {"at": ISO, "do": "undo", "rule": "rule-id", "entity": "..."}  (that rule's latest acted decision)
  --rules DIR       the rules (default: rules/, or THRAD_RULES_DIR)
  --account ID      with a fixture of several "organizations": the ad account whose rules run
                    (the others share the world and the clock). With --orgs FILE --org ID the
                    org's entry picks it: its ad_account_id, else the fixture organization that
                    holds the key its api_key_env names.
  --json            one object: {decisions, events, final, runs, requests}

Exit codes: 0 the simulation ran; 1 a bad fixture, rules or events file (named with the path), or
stopped with Ctrl-C before T (it says where);
2 wrong flags.

Examples:
  npx thrad-rules simulate --fixture sandbox/fixtures/demo.json --until 3d
  npx thrad-rules simulate --fixture sandbox/fixtures/demo.json --until 1d --events night.json --json`;

const MAX_SIMULATED_MS = MAX_SIMULATED_DAYS * DURATION_MS.d;

/** `--until`: an ISO time, or a duration forward from the fixture's now. */
export function parseUntil(value: string, nowMs: number): number {
  const forward = parseDurationMs(value, 'mhdw');
  if (forward !== null) return nowMs + forward;
  const ms = parseIsoInstant(value.trim());
  if (ms === null) throw new FlagValueError({ flag: '--until', found: value, expected: 'an ISO 8601 time with a zone, or a duration from the fixture\'s now (90m, 12h, 3d, 2w)', example: '--until 3d' });
  return ms;
}

/**
 * Which organization of a fixture with several runs the rules: `--account`, else the org entry's
 * (the ad account `--org` put in the environment, or the fixture organization holding its key).
 * A single-organization fixture is its own answer (a key or account in the environment is a real
 * deployment's and has nothing to say about a fixture).
 */
export function simulatedAccount(fixture: AnyFixture, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return flag;
  if (!isMultiOrgFixture(fixture)) return undefined;
  const fromEntry = env.THRAD_AD_ACCOUNT_ID?.trim();
  if (fromEntry) return fromEntry;
  const key = env[API_KEY_ENV]?.trim();
  if (!key) return undefined;
  const holder = organizationsOf(fixture).find((o) => o.api_keys.some((k) => (typeof k === 'string' ? k : k.key) === key));
  return holder?.account.id;
}

/** An events file: a JSON array of events, each checked (problems named by file and index). */
export function readEvents(path: string): SimEvent[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SimulationInputError(path, [(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON: ${(error as Error).message}`]);
  }
  return parseEvents(raw, path);
}

function eventLine(outcome: EventOutcome, timeZone: string): string {
  const e = outcome.event;
  const what = e.do === 'undo' ? `undo ${e.rule} on ${e.entity}` : e.do === 'review' ? `review campaign ${e.id}: ${e.review_status}` : `${e.do.toUpperCase().padEnd(8)} ${e.level.replace('_', ' ')} ${e.id}${e.do === 'update' ? ` ${JSON.stringify(e.body)}` : ''}`;
  return `${localStamp(new Date(Date.parse(e.at)).toISOString(), timeZone)}  ${'(person)'.padEnd(18)} ${what}  ${outcome.ok ? '✓' : '✗'} ${outcome.detail}`;
}

/** The rules a simulation runs: all of the folder's, or none (problems are printed, then a SimulationInputError). */
export function simulationRules(rulesDir: string, ctx: CommandContext, flag: string | undefined): CompiledRuleSet {
  const loaded = loadRuleFolder(rulesDir, ctx, flag);
  const errors = loaded.issues.filter((i) => i.severity === 'error');
  // A simulation of part of the rule set would show interactions that will not happen: all or none.
  if (errors.length > 0) throw new SimulationInputError(rulesDir, [`${errors.length} rule problem${errors.length === 1 ? '' : 's'} above (npx thrad-rules validate)`]);
  return compileRuleSet(loaded.rules);
}

export async function simulateCommand(args: string[], ctx: CommandContext & { signal?: AbortSignal }): Promise<number> {
  const { values } = parseFlags(args, { fixture: { type: 'string' }, account: { type: 'string' }, until: { type: 'string' }, events: { type: 'string' }, rules: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, ctx.io, SIMULATE_HELP);
  if (values.help) {
    ctx.io.out(SIMULATE_HELP);
    return EXIT.ok;
  }
  if (values.fixture === undefined) throw new UsageError('simulate needs --fixture F.json: the world to simulate (e.g. --fixture sandbox/fixtures/demo.json).');
  if (values.until === undefined) throw new UsageError('simulate needs --until T: when the simulation ends (e.g. --until 3d, or --until 2026-11-27T07:00:00Z).');
  const fixturePath = resolve(ctx.cwd, values.fixture);
  const fixture = loadAnyFixtureFile(fixturePath);
  const account = simulatedAccount(fixture, values.account, ctx.env);
  if (fixture.now === undefined) throw new SimulationInputError(values.fixture, ['now: the fixture needs "now" (Unix seconds): the simulation starts there']);
  const untilMs = parseUntil(values.until, fixture.now * 1000);
  // A flag's value, not the fixture's fault: exit 2 with the flag named (the simulator's own check says exit 1).
  if (untilMs <= fixture.now * 1000) throw new FlagValueError({ flag: '--until', found: values.until, expected: `a time after the fixture's now (${new Date(fixture.now * 1000).toISOString()})`, example: '--until 3d' });
  // Every occurrence of every rule runs in turn: a span past a year is a typo (--until 3000d), not a plan.
  if (untilMs - fixture.now * 1000 > MAX_SIMULATED_MS) throw new FlagValueError({ flag: '--until', found: values.until, expected: `at most ${MAX_SIMULATED_DAYS} days after the fixture's now (${new Date(fixture.now * 1000).toISOString()})`, example: '--until 30d' });
  const events = values.events === undefined ? [] : readEvents(resolve(ctx.cwd, values.events));
  const config = loadConfig({ rules: values.rules }, ctx.env, ctx.cwd);
  const rules = simulationRules(config.rulesDir, ctx, values.rules);
  const zones = new Set(rules.rules.filter((r) => r.rule.enabled).map((r) => r.rule.schedule.timezone));
  const zone = zones.size === 1 ? ([...zones][0]) : 'UTC';
  const zoneOf = (ruleId: string): string => rules.byId.get(ruleId)?.rule.schedule.timezone ?? zone;
  const json = values.json === true;
  const result = await runSimulation({
    fixture,
    fixtureFile: values.fixture,
    account,
    rules,
    untilMs,
    events,
    eventsFile: values.events,
    maxChangeFraction: config.maxChangeFraction,
    signal: ctx.signal,
    onDecision: json ? undefined : (d) => ctx.io.out(decisionLine(d, zoneOf(d.rule_id))),
    onEvent: json ? undefined : (e) => ctx.io.out(eventLine(e, zone)),
  });
  if (json) {
    ctx.io.out(JSON.stringify({ decisions: result.decisions, events: result.events.map((e) => ({ ...e.event, ok: e.ok, detail: e.detail })), final: result.final, runs: result.runs, requests: result.requests }, null, 2));
    return EXIT.ok;
  }
  const acted = result.decisions.filter((d) => d.outcome === 'acted').length;
  ctx.io.out(`── simulated ${localStamp(new Date(fixture.now * 1000).toISOString(), zone)} → ${localStamp(new Date(untilMs).toISOString(), zone)}: ${result.runs} runs, ${result.decisions.length} decisions (${acted} acted), ${result.events.length} events (${result.events.filter((e) => !e.ok).length} refused), ${result.requests} engine API requests`);
  return EXIT.ok;
}
