// `thrad-rules run` / `npm start`: the local autopilot. The same engine as the Lambda, on an
// in-process scheduler that honours each rule's expression and time zone on the engine clock.
import { Engine } from '../engine/cycle';
import type { Notifier } from '../engine/notifier';
import { compileRuleSet } from '../rules/compile';
import { scheduleGroups } from '../rules/groups';
import { loadConfig } from '../local/config';
import { openEnvironment } from '../local/environment';
import { cycleLine, decisionLine, localStamp } from '../local/format';
import { LocalScheduler, waitForClock } from '../local/scheduler';
import { numberFlag, parseFlags } from './args';
import { explainCycle } from './errors';
import { EXIT, type Output } from './output';
import { loadRuleFolder } from './shared';

export const RUN_HELP = `Usage: thrad-rules run [--once] [--dry-run] [--rules DIR] [--clock-speed X] [--sandbox-port N]
       npm start -- [the same flags]

Runs the autopilot on this machine: every rule on its schedule (EventBridge rate/cron syntax, in
its time zone), acting through the Thrad API and recording every decision in the audit store.

  --once            run every enabled rule a single time now, then exit
  --dry-run         force every rule to dry_run: record what would be done, call nothing
  --rules DIR       the rules folder (default: rules/, or THRAD_RULES_DIR)
  --clock-speed X   with the bundled sandbox: sandbox seconds per real second (default: the demo's 1200)
  --sandbox-port N  with the bundled sandbox: its port (default 4010; another if taken)

API: THRAD_ADS_API_KEY (or THRAD_API_KEY_SECRET_ID) selects the real Thrad API
(THRAD_API_BASE_URL overrides its address). Without a key the bundled sandbox runs with the demo
fixture and a fast clock. Store: embedded, under .thrad-rules/ (THRAD_RULES_DATA_DIR moves it), or
the DynamoDB table AUDIT_TABLE_NAME (at DYNAMODB_ENDPOINT when set).

Ctrl-C stops after the current cycle. Exit codes: 0 when the run completed (even if rules acted),
1 when it could not run, 2 on wrong usage.

Examples:
  npm start                                  # the demo: sandbox, example rules, fast clock
  npx thrad-rules run --once --dry-run       # what would every rule do right now?
  THRAD_ADS_API_KEY=ak_... npx thrad-rules run --dry-run   # your account, acting on nothing`;

const noNotifications: Notifier = { notify: () => Promise.resolve() };

export interface RunContext {
  io: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** How long one cycle may take in real time (default 5 minutes). */
  cycleTimeoutMs?: number;
}

export async function runCommand(args: string[], ctx: RunContext): Promise<number> {
  const { io } = ctx;
  const parsed = parseFlags(
    args,
    { once: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, rules: { type: 'string' }, 'clock-speed': { type: 'string' }, 'sandbox-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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

  if (!config.hasApiKey) io.out('No THRAD_ADS_API_KEY set: running against the bundled Thrad sandbox with the demo fixture (nothing real is touched).');
  const environment = await openEnvironment(config, { role: 'runner', needApi: true, sandboxPort, clockSpeed, env: ctx.env });
  const zoneOf = (ruleId: string): string => ruleSet.byId.get(ruleId)?.rule.schedule.timezone ?? 'UTC';
  try {
    io.out(`API: ${environment.describeApi}`);
    io.out(`Audit trail: ${environment.describeStore}`);
    io.out(`Rules: ${loaded.rules.length} from ${config.rulesDir}${skipped ? ` (${skipped} problem${skipped === 1 ? '' : 's'} above; those rules are skipped)` : ''}${mode ? '; every rule forced to dry_run' : ''}`);
    const engine = new Engine({
      client: environment.client,
      store: environment.store,
      rules: ruleSet,
      notifier: noNotifications,
      clock: environment.clock,
      accountId: await environment.accountId(),
      onDecision: (d) => io.out(decisionLine(d, zoneOf(d.rule_id))),
      onProgress: (p) => io.progress?.(`${p.phase === 'lists' ? 'reading lists' : 'reading insights'} ${p.done}/${p.total} · ${p.entities} entities`),
    });
    const cycle = async (ruleIds: readonly string[] | undefined, occurrenceMs: number | undefined, scheduleId: string | undefined): Promise<boolean> => {
      const result = await engine.runCycle({ ruleIds, scheduledTime: occurrenceMs, scheduleId, mode, deadlineMs: Date.now() + (ctx.cycleTimeoutMs ?? 5 * 60_000), trigger: 'local' });
      const { summary } = result;
      io.progress?.(null);
      io.out(cycleLine(summary, zoneOf(summary.rule_ids[0] ?? '')));
      for (const error of summary.errors) io.err(`  ${error.rule_id ? `${error.rule_id}: ` : ''}${error.code}: ${error.message}`);
      // Failures the run recorded (no data for a rule, an action not called) that a person can fix.
      const advice = explainCycle(result, { env: ctx.env, command: 'run' });
      for (const line of advice) io.err(line);
      return summary.status !== 'failed' && advice.length === 0;
    };

    if (values.once) return (await cycle(undefined, undefined, undefined)) ? EXIT.ok : EXIT.failure;

    const groups = scheduleGroups(loaded.rules.map((r) => r.rule));
    // The schedule starts now (the demo's clock is still frozen here); occurrences the clock passes
    // before the first wait run at once.
    const startMs = environment.clock.nowMs();
    const speed = environment.sandboxSpeed ?? 1;
    io.out(`Schedules (${groups.length}), next runs on the ${environment.mode === 'sandbox' ? `sandbox clock (now ${localStamp(new Date(startMs).toISOString(), groups[0]?.timezone ?? 'UTC')}, ×${speed})` : 'system clock'}:`);
    const scheduler = new LocalScheduler({
      groups,
      clock: environment.clock,
      wait: waitForClock(environment.clock, environment.mode === 'sandbox' ? speed : 1),
      runGroup: async (group, at) => {
        await cycle(group.ruleIds, at, group.id);
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
