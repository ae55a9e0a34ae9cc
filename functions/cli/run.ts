// `thrad-rules run` / `npm start`: the local autopilot. The same engine as the Lambda, on an
// in-process scheduler that honours each rule's expression and time zone on the engine clock.
import type { RunSummary } from '../audit/records';
import { Engine } from '../engine/cycle';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile';
import { scheduleGroups } from '../rules/groups';
import { loadConfig } from '../local/config';
import { openEnvironment } from '../local/environment';
import { cycleLine, decisionLine, localStamp } from '../local/format';
import { localNotifier, notificationProblems } from '../local/notifications';
import { DidNotRunWatch, overdueLine, rulesServed } from '../local/overdue';
import { LocalScheduler, waitForClock } from '../local/scheduler';
import { numberFlag, parseFlags } from './args';
import { explainCycle, UsageError } from './errors';
import { EXIT, type Output } from './output';
import { loadRuleFolder } from './shared';
import type { FileOrgRegistry } from '../orgs/file';
import type { OrgEntry } from '../orgs/schema';
import { announcedNotServed, RegistryWatch } from '../orgs/watch';

export const RUN_HELP = `Usage: thrad-rules run [--once [--rule ID]...] [--dry-run] [--rules DIR] [--clock-speed X] [--sandbox-port N]
       npm start -- [the same flags]

Runs the autopilot on this machine: every rule on its schedule (EventBridge rate/cron syntax, in
its time zone), acting through the Thrad API and recording every decision in the audit store.
Rules due at the same instant run together, as one cycle.

  --once            run the rate() rules a single time now, then exit; cron() rules are time-of-day
                    rules and run only when named with --rule (a 22:00 pause never fires at 14:00)
  --rule ID         with --once: run this rule (repeatable), cron() rules included
  --dry-run         force every rule to dry_run: record what would be done, call nothing
  --rules DIR       the rules folder (default: rules/, or THRAD_RULES_DIR)
  --clock-speed X   with the bundled sandbox: sandbox seconds per real second (default: the demo's 1200)
  --sandbox-port N  with the bundled sandbox: its port (default 4010; another if taken)

API: THRAD_ADS_API_KEY (or THRAD_API_KEY_SECRET_ID) selects the real Thrad API
(THRAD_API_BASE_URL overrides its address). Without a key the bundled sandbox runs with the demo
fixture and a fast clock. Store: embedded, under .thrad-rules/ (THRAD_RULES_DATA_DIR moves it), or
the DynamoDB table AUDIT_TABLE_NAME (at DYNAMODB_ENDPOINT when set). Notifications:
THRAD_RULES_WEBHOOK_URL (Slack-compatible) gets one digest per run that acted, failed or awaits
approval, and an alert the moment an action fails. A schedule with no completed run with its data for two of its
periods is named in a warning line.

Ctrl-C stops after the current cycle. Exit codes: 0 when the run completed (even if rules acted),
1 when it could not run, 2 on wrong usage.

Examples:
  npm start                                  # the demo: sandbox, example rules, fast clock
  npx thrad-rules run --once --dry-run       # what would every rate() rule do right now?
  npx thrad-rules run --once --rule daypart-pause   # run one time-of-day rule now, on purpose
  THRAD_ADS_API_KEY=ak_... npx thrad-rules run --dry-run   # your account, acting on nothing`;

/** The claim key of the local runner's ticks: one run per instant, however many schedules are due. */
export const LOCAL_TICK_SCHEDULE_ID = 'local-tick';

/**
 * What `run --once` runs: the enabled rate() rules, or the rules named with --rule (cron() rules
 * too: naming one is on purpose). A cron() rule is a time of day; run at another time it would act
 * at the wrong one (a 22:00 pause at 14:00), so it is skipped, and the user told why.
 */
export function onceSelection(set: CompiledRuleSet, named: readonly string[]): { run: string[]; skipped: string[] } | { error: string } {
  const unknown = named.filter((id) => !set.byId.has(id));
  if (unknown.length > 0) return { error: `--rule: no valid rule ${unknown.map((u) => `"${u}"`).join(', ')}; rules: ${[...set.byId.keys()].join(', ') || '(none)'}` };
  if (named.length > 0) {
    const disabled = named.filter((id) => set.byId.get(id)?.rule.enabled === false);
    return { run: named.filter((id) => !disabled.includes(id)), skipped: disabled.map((id) => `Skipped ${id}: it is disabled ("enabled": false).`) };
  }
  const run: string[] = [];
  const skipped: string[] = [];
  for (const rule of set.rules) {
    if (!rule.rule.enabled) skipped.push(`Skipped ${rule.id}: it is disabled ("enabled": false).`);
    else if (rule.schedule.kind === 'cron') skipped.push(`Skipped ${rule.id}: ${rule.rule.schedule.expression} (${rule.rule.schedule.timezone}) runs at set times; run it now anyway with --once --rule ${rule.id}.`);
    else run.push(rule.id);
  }
  return { run, skipped };
}

export interface RunContext {
  io: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** How long one cycle may take in real time (default 5 minutes). */
  cycleTimeoutMs?: number;
  /** The organization served (--orgs/--org) and its registry: re-read before every tick. */
  org?: OrgEntry;
  registry?: FileOrgRegistry;
}

export async function runCommand(args: string[], ctx: RunContext): Promise<number> {
  const { io } = ctx;
  const parsed = parseFlags(
    args,
    { once: { type: 'boolean' }, rule: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, rules: { type: 'string' }, 'clock-speed': { type: 'string' }, 'sandbox-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    io,
    RUN_HELP,
  );
  const { values } = parsed;
  if (values.help) {
    io.out(RUN_HELP);
    return EXIT.ok;
  }
  const clockSpeed = numberFlag(values['clock-speed'], { flag: '--clock-speed', min: 0, integer: false, meaning: 'sandbox seconds per real second, with the bundled sandbox; 0 stops its clock', example: '--clock-speed 3600' });
  const sandboxPort = numberFlag(values['sandbox-port'], { flag: '--sandbox-port', min: 0, max: 65_535, integer: true, meaning: "the bundled sandbox's port; 0 picks a free one", example: '--sandbox-port 4020' });
  const config = loadConfig({ rules: values.rules }, ctx.env, ctx.cwd);

  const loaded = loadRuleFolder(config.rulesDir, ctx, values.rules);
  const skipped = loaded.issues.filter((i) => i.severity === 'error').length;
  const ruleSet = compileRuleSet(loaded.rules);
  const mode = values['dry-run'] ? 'dry_run' : undefined;
  const named = values.rule ?? [];
  if (named.length > 0 && !values.once) throw new UsageError(`--rule runs a rule once, now: use it with --once (e.g. thrad-rules run --once --rule ${named[0]}).`);
  const once = values.once ? onceSelection(ruleSet, named) : null;
  if (once && 'error' in once) throw new UsageError(once.error);

  if (!config.hasApiKey) io.out('No THRAD_ADS_API_KEY set: running against the bundled Thrad sandbox with the demo fixture (nothing real is touched).');
  const environment = await openEnvironment(config, { role: 'runner', needApi: true, sandboxPort, clockSpeed, env: ctx.env });
  const zoneOf = (ruleId: string): string => ruleSet.byId.get(ruleId)?.rule.schedule.timezone ?? 'UTC';
  try {
    io.out(`API: ${environment.describeApi}`);
    io.out(`Audit trail: ${environment.describeStore}`);
    io.out(`Rules: ${loaded.rules.length} from ${config.rulesDir}${skipped ? ` (${skipped} problem${skipped === 1 ? '' : 's'} above; those rules are skipped)` : ''}${mode ? '; every rule forced to dry_run' : ''}`);
    const accountId = await environment.accountId();
    const engine = new Engine({
      client: environment.client,
      store: environment.store,
      rules: ruleSet,
      notifier: localNotifier(config),
      clock: environment.clock,
      accountId,
      ...(ctx.org ? { orgId: ctx.org.org_id } : {}),
      maxChangeFraction: config.maxChangeFraction,
      onDecision: (d) => io.out(decisionLine(d, zoneOf(d.rule_id))),
      onProgress: (p) => io.progress?.(`${p.phase === 'lists' ? 'reading lists' : 'reading insights'} ${p.done}/${p.total} · ${p.entities} entities`),
    });
    const cycle = async (ruleIds: readonly string[], occurrenceMs: number | undefined, scheduleId: string | undefined): Promise<{ ok: boolean; summary: RunSummary }> => {
      const result = await engine.runCycle({ ruleIds, scheduledTime: occurrenceMs, scheduleId, mode, deadlineMs: Date.now() + (ctx.cycleTimeoutMs ?? 5 * 60_000), trigger: 'local' });
      const { summary } = result;
      io.progress?.(null);
      io.out(cycleLine(summary, zoneOf(summary.rule_ids[0] ?? '')));
      for (const error of summary.errors) io.err(`  ${error.rule_id ? `${error.rule_id}: ` : ''}${error.code}: ${error.message}`);
      for (const line of notificationProblems(summary)) io.err(line);
      // Failures the run recorded (no data for a rule, an action not called) that a person can fix.
      const advice = explainCycle(result, { env: ctx.env, command: 'run' });
      for (const line of advice) io.err(line);
      return { ok: summary.status !== 'failed' && advice.length === 0, summary };
    };

    if (once && 'run' in once) {
      for (const line of once.skipped) io.out(line);
      if (once.run.length === 0) {
        io.out('Nothing to run now: name a rule with --rule to run it once anyway.');
        return EXIT.ok;
      }
      return (await cycle(once.run, undefined, undefined)).ok ? EXIT.ok : EXIT.failure;
    }

    const groups = scheduleGroups(loaded.rules.map((r) => r.rule));
    // The schedule starts now (the demo's clock is still frozen here); occurrences the clock passes
    // before the first wait run at once.
    const startMs = environment.clock.nowMs();
    const speed = environment.sandboxSpeed ?? 1;
    // "Rule did not run": a schedule with no completed run with its data for two of its periods (asleep, failing, or data unavailable), said once per streak.
    // Not on a sped-up sandbox clock (the demo's): there a cycle's real milliseconds are sandbox
    // minutes, occurrences are passed by design, and the skipped-occurrence line says which.
    const watch = speed > 1 ? null : new DidNotRunWatch(groups, startMs);
    const warnOverdue = (pendingMs?: number): void => {
      for (const overdue of watch?.check(environment.clock.nowMs(), pendingMs) ?? []) io.err(overdueLine(overdue));
    };
    io.out(`Schedules (${groups.length}), next runs on the ${environment.mode === 'sandbox' ? `sandbox clock (now ${localStamp(new Date(startMs).toISOString(), groups[0]?.timezone ?? 'UTC')}, ×${speed})` : 'system clock'}:`);
    const { org, registry } = ctx;
    const check = org && registry ? announcedNotServed(new RegistryWatch(registry), (start, reason) => io.err(reason === null ? `Organization ${start.entry.org_id} served again: ${registry.path} enables it as this run started it.` : `Organization ${start.entry.org_id} not served: ${reason}. Its ticks are not run.`)) : null;
    const served = check && org ? () => check({ entry: org, accountId }) : null;
    const scheduler = new LocalScheduler({
      groups,
      clock: environment.clock,
      wait: waitForClock(environment.clock, environment.mode === 'sandbox' ? speed : 1),
      runTick: async (due, at) => {
        // An org disabled (or changed) in the orgs file while this run goes on: its ticks are not run.
        // Nor are they late for it once it is served again (the watch does not count them as missed).
        if (served && served() !== null) {
          watch?.notServed(at);
          return;
        }
        warnOverdue(at);
        const { summary } = await cycle(due.flatMap((g) => g.ruleIds), at, LOCAL_TICK_SCHEDULE_ID);
        watch?.completed(rulesServed(summary), environment.clock.nowMs());
        warnOverdue();
      },
      onSkipped: (group, n) => io.err(`  ${group.expression} (${group.timezone}): ${n} occurrence${n === 1 ? '' : 's'} skipped: the clock ran past them during the previous cycle`),
    });
    for (const [group, at] of scheduler.upcoming(startMs)) io.out(`  ${group.expression.padEnd(22)} ${group.timezone.padEnd(20)} ${localStamp(new Date(at).toISOString(), group.timezone)}  ${group.ruleIds.join(', ')}`);
    io.out('Running; Ctrl-C stops after the current cycle.');
    if (environment.sandbox && environment.sandboxSpeed !== undefined) environment.sandbox.world.clock.setSpeed(environment.sandboxSpeed);
    const controller = new AbortController();
    ctx.signal?.addEventListener('abort', () => {
      io.err('Stopping after the current cycle…');
      controller.abort();
    }, { once: true });
    await scheduler.run(controller.signal, { fromMs: startMs });
    io.out('Stopped.');
    return EXIT.ok;
  } finally {
    io.progress?.(null);
    await environment.close();
  }
}
