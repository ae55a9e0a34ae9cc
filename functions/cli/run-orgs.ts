// `thrad-rules run --orgs FILE` with several enabled orgs: the local runner for a fleet. One
// scheduler wakes at every instant any org's rules are due; at each, every org with rules due runs
// one cycle for all of them (functions/local/fleet.ts), at most --concurrency at once, each org
// with its own key, its own ad account (its records' prefix) and its own request ledger. One
// org's failure (a revoked key) is printed and recorded for that org only; the others go on. The
// orgs file stays the authority while the run goes on (functions/orgs/watch.ts): an org disabled or
// changed in it gets no more cycles until it says again what this run started.
import { Engine } from '../engine/cycle';
import { compileRuleSet } from '../rules/compile';
import { scheduleGroups } from '../rules/groups';
import { loadConfig } from '../local/config';
import { openEnvironment, type LocalEnvironment } from '../local/environment';
import { EnvironmentError } from '../local/errors';
import { Fleet, type FleetOrg } from '../local/fleet';
import { cycleLine, decisionLine } from '../local/format';
import { localNotifier, notificationProblems } from '../local/notifications';
import { FleetDidNotRunWatch, rulesServed } from '../local/overdue';
import { LocalScheduler, waitForClock } from '../local/scheduler';
import type { FileOrgRegistry } from '../orgs/file';
import type { OrgEntry } from '../orgs/schema';
import { orgEnvironment } from '../orgs/select';
import { announcedNotServed, RegistryWatch, type StartedOrg } from '../orgs/watch';
import { ThradClient } from '../thrad/client';
import { apiKeyProviderFromEnv } from '../thrad/keys';
import { numberFlag, parseFlags } from './args';
import { explainCycle, explainError, UsageError } from './errors';
import type { CliContext } from './main';
import { EXIT } from './output';
import { loadRuleFolder } from './shared';

export const ORG_CONCURRENCY_ENV = 'THRAD_RULES_ORG_CONCURRENCY';
export const DEFAULT_ORG_CONCURRENCY = 4;


export interface FleetContext extends CliContext {
  orgs: OrgEntry[];
  registry: FileOrgRegistry;
}

/** What `run --orgs` serves: the fleet of the orgs that could start, over one environment. */
export interface OpenedFleet {
  fleet: Fleet;
  environment: LocalEnvironment;
  /** Say, on stderr, which served orgs' schedules did not run (call before each tick, with its time). */
  warnOverdue: (pendingMs?: number) => void;
}

/**
 * Start every enabled org of the registry (its key must answer for its account, its rules must
 * load; an org that cannot start is named and left out) and build the fleet that serves them.
 * Null when no org could start (said on stderr); the environment is then closed.
 */
export async function openFleet(options: { rules?: string; concurrency: number; mode?: 'dry_run' }, ctx: FleetContext): Promise<OpenedFleet | null> {
  const { io } = ctx;
  const enabled = ctx.orgs.filter((o) => o.enabled);
  const disabled = ctx.orgs.length - enabled.length;
  if (enabled.length === 0) throw new UsageError(`Every organization in ${ctx.registry.path} is disabled; enable one with \`thrad-rules orgs enable --orgs ${ctx.registry.path} ID\`.`);
  // Each org's environment (its key variable must be set): an org whose environment cannot be built is named
  // and left out, as one whose key is refused; it never stops the others.
  const orgEnvs = new Map<string, NodeJS.ProcessEnv>();
  for (const org of enabled) {
    try {
      orgEnvs.set(org.org_id, orgEnvironment(ctx.env, org, ctx.registry));
    } catch (error) {
      io.err(`Organization ${org.org_id} is not served: ${explainError(error, { env: ctx.env, command: 'run' }).lines.join(' ')}`);
    }
  }
  const startable = enabled.filter((o) => orgEnvs.has(o.org_id));
  const first = startable[0];
  if (first === undefined) {
    io.err('No organization could start.');
    return null;
  }

  // The store (and, for a sandbox at THRAD_API_BASE_URL, its clock) come from the first startable org's environment.
  const firstEnv = orgEnvs.get(first.org_id) as NodeJS.ProcessEnv;
  const baseConfig = loadConfig({ rules: options.rules }, firstEnv, ctx.cwd);
  const environment: LocalEnvironment = await openEnvironment(baseConfig, { role: 'runner', needApi: true, env: firstEnv });
  try {
    io.out(`API: ${environment.describeApi}`);
    io.out(`Audit trail: ${environment.describeStore}`);
    const fleet: FleetOrg[] = [];
    const started = new Map<string, StartedOrg>();
    /** Each org's environment: messages about its key name where its key came from. */
    const envs = new Map<string, NodeJS.ProcessEnv>();
    const zones = new Map<string, (ruleId: string) => string>();
    for (const org of startable) {
      const env = orgEnvs.get(org.org_id) as NodeJS.ProcessEnv;
      const config = loadConfig({ rules: options.rules }, env, ctx.cwd);
      try {
        const loaded = loadRuleFolder(config.rulesDir, { ...ctx, env, org }, options.rules);
        const ruleSet = compileRuleSet(loaded.rules);
        const keyProvider = apiKeyProviderFromEnv(env);
        if (!keyProvider) throw new UsageError(`Organization ${org.org_id}: no key.`);
        const client = org === first ? environment.client : new ThradClient({ baseUrl: config.apiBaseUrl, keyProvider, clock: environment.clock, wireProfile: config.wireProfile });
        // The key says which account it serves; the entry must agree (else one org's records would
        // be filed under another's), and no two orgs may serve one account.
        const accountId = (await client.getAdAccount()).id;
        if (org.ad_account_id !== undefined && org.ad_account_id !== accountId) throw new EnvironmentError(`its key answers for ad account ${accountId}, but the registry says ${org.ad_account_id}; fix the entry's "ad_account_id" (or its key)`);
        const sharing = fleet.find((f) => f.accountId === accountId);
        if (sharing) throw new EnvironmentError(`its key answers for ad account ${accountId}, which organization ${sharing.orgId} already serves (one organization per ad account)`);
        if (org.ad_account_id === undefined) await ctx.registry.setAccount(org.org_id, accountId);
        const zoneOf = (ruleId: string): string => ruleSet.byId.get(ruleId)?.rule.schedule.timezone ?? 'UTC';
        zones.set(org.org_id, zoneOf);
        const engine = new Engine({ client, store: environment.store, rules: ruleSet, notifier: localNotifier(config), clock: environment.clock, accountId, orgId: org.org_id, maxChangeFraction: config.maxChangeFraction, onDecision: (d) => io.out(`[${org.org_id}] ${decisionLine(d, zoneOf(d.rule_id))}`) });
        fleet.push({ orgId: org.org_id, accountId, engine, groups: scheduleGroups(loaded.rules.map((r) => r.rule)) });
        started.set(org.org_id, { entry: org, accountId });
        envs.set(org.org_id, env);
        io.out(`Organization ${org.org_id}: account ${accountId}, ${loaded.rules.length} rules from ${config.rulesDir}`);
      } catch (error) {
        // An org that cannot start (its key refused, its rules unusable) is left out; the others run.
        const { lines } = explainError(error, { env, command: 'run' });
        io.err(`Organization ${org.org_id} is not served: ${lines.join(' ')}`);
      }
    }
    if (fleet.length === 0) {
      io.err('No organization could start.');
      await environment.close();
      return null;
    }
    io.out(`Serving ${fleet.length} of ${ctx.orgs.length} organizations${disabled ? ` (${disabled} disabled)` : ''}, ${options.concurrency} at a time${options.mode ? '; every rule forced to dry_run' : ''}.`);
    // The orgs file is the authority while the run goes on: an org disabled (or changed) in it stops
    // being served from its next tick, and is served again once it says so again.
    const check = announcedNotServed(new RegistryWatch(ctx.registry), (start, reason) =>
      io.err(reason === null ? `[${start.entry.org_id}] served again: ${ctx.registry.path} enables it as this run started it.` : `[${start.entry.org_id}] not served: ${reason}. Its ticks are not run.`),
    );
    const notServed = (org: FleetOrg): string | null => {
      const start = started.get(org.orgId);
      return start ? check(start) : 'it was not started by this run';
    };
    // "Rule did not run", per org (as `run` does for one), for the orgs being served: not on a
    // sped-up sandbox clock, where occurrences are passed by design.
    const watch = (environment.sandboxSpeed ?? 1) > 1 ? null : new FleetDidNotRunWatch(fleet, environment.clock.nowMs());
    const warnOverdue = (pendingMs?: number): void => {
      for (const line of watch?.check(environment.clock.nowMs(), pendingMs) ?? []) io.err(line);
    };
    const pool = new Fleet({
      orgs: fleet,
      store: environment.store,
      concurrency: options.concurrency,
      nowMs: () => environment.clock.nowMs(),
      deadlineMs: () => Date.now() + (ctx.cycleTimeoutMs ?? 5 * 60_000),
      mode: options.mode,
      notServed,
      // A tick it turned down was not the org's to run: not a missed one once it is served again.
      onNotServed: (org, tick) => watch?.notServed(org.orgId, tick.tickMs),
      onCycle: (org, _tick, result) => {
        watch?.completed(org.orgId, rulesServed(result.summary), environment.clock.nowMs());
        io.out(`[${org.orgId}] ${cycleLine(result.summary, zones.get(org.orgId)?.(result.summary.rule_ids[0] ?? '') ?? 'UTC')}`);
        for (const error of result.summary.errors) io.err(`[${org.orgId}]   ${error.rule_id ? `${error.rule_id}: ` : ''}${error.code}: ${error.message}`);
        for (const line of notificationProblems(result.summary)) io.err(`[${org.orgId}] ${line}`);
        // What the run recorded that a person can fix (its key refused, its hour spent), as `run` says it for one org.
        for (const line of explainCycle(result, { env: envs.get(org.orgId) ?? ctx.env, command: 'run' })) io.err(`[${org.orgId}] ${line}`);
      },
      onSkipped: (org, tick, reason) => io.err(`[${org.orgId}] tick ${new Date(tick.tickMs).toISOString()}: ${reason}`),
      onError: (org, _tick, error) => io.err(`[${org.orgId}] ${explainError(error, { env: envs.get(org.orgId) ?? ctx.env, command: 'run' }).lines.join(' ')}`),
    });
    return { fleet: pool, environment, warnOverdue };
  } catch (error) {
    await environment.close();
    throw error;
  }
}

export async function runOrgsCommand(args: string[], ctx: FleetContext): Promise<number> {
  const { io } = ctx;
  const { values } = parseFlags(args, { 'dry-run': { type: 'boolean' }, rules: { type: 'string' }, concurrency: { type: 'string' }, once: { type: 'boolean' }, rule: { type: 'string', multiple: true }, 'clock-speed': { type: 'string' }, 'sandbox-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, io, 'Usage: thrad-rules run --orgs FILE [--org ID] [--dry-run] [--concurrency N]');
  if (values.once || values.rule) throw new UsageError('--once runs one org: name it with --org ID (the fleet runner serves every org on its schedules).');
  const concurrency = numberFlag(values.concurrency ?? ctx.env[ORG_CONCURRENCY_ENV], { flag: '--concurrency', min: 1, max: 64, integer: true, meaning: 'org cycles run at once', example: '--concurrency 8' }) ?? DEFAULT_ORG_CONCURRENCY;
  const opened = await openFleet({ rules: values.rules, concurrency, mode: values['dry-run'] ? 'dry_run' : undefined }, ctx);
  if (!opened) return EXIT.failure;
  const { fleet: pool, environment, warnOverdue } = opened;
  try {
    const scheduler = new LocalScheduler({
      groups: pool.unionGroups(),
      clock: environment.clock,
      wait: waitForClock(environment.clock, 1),
      runTick: (_due, at) => {
        warnOverdue(at);
        pool.tick(at);
        return Promise.resolve();
      },
    });
    io.out('Running; Ctrl-C stops after the cycles under way.');
    const controller = new AbortController();
    ctx.signal?.addEventListener('abort', () => {
      io.err('Stopping after the cycles under way…');
      controller.abort();
    }, { once: true });
    await scheduler.run(controller.signal, { fromMs: environment.clock.nowMs() });
    await pool.drain();
    io.out('Stopped.');
    return EXIT.ok;
  } finally {
    await environment.close();
  }
}
