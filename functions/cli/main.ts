// `thrad-rules`: the command-line interface. Each command has --help with examples. Every error,
// in every command, reaches main(), which prints it as one or two lines (what happened, what to
// do; errors.ts) and returns the exit code: 0 ok, 1 failure, 2 usage. Stack traces only with
// --debug (accepted by every command) or THRAD_RULES_DEBUG=1.
import { resolve } from 'node:path';
import { rulesJsonSchema } from '../rules/schema';
import { parseFlags, takeDebugFlag } from './args';
import { reportError, UsageError } from './errors';
import { EXIT, processOutput, type Output } from './output';
import { approvalsCommand, approveCommand, rejectCommand } from './approvals';
import { auditCommand } from './audit';
import { consoleCommand } from './console';
import { doctorCommand } from './doctor';
import { previewCommand } from './preview';
import { reportCommand } from './report';
import { runCommand } from './run';
import { simulateCommand } from './simulate';
import { undoCommand } from './undo';
import { orgsCommand } from './orgs';
import { runOrgsCommand } from './run-orgs';
import { resolveOrgs, takeOrgFlags } from '../orgs/select';
import type { FileOrgRegistry } from '../orgs/file';
import type { OrgEntry } from '../orgs/schema';
import { runValidate, VALIDATE_HELP } from './validate';

export const ROOT = resolve(__dirname, '..', '..');
export const DEFAULT_RULES_DIR = resolve(ROOT, 'rules');

const HELP = `thrad-rules: rules-driven autopilot for Thrad ad campaigns.

Usage: thrad-rules <command> [options]

Commands:
  run                run the autopilot on its schedules (npm start); --once, --dry-run
  preview            what every rule would do now, and why; acts on nothing
  audit              the decision records: what was done, when and why (--json, --csv)
  undo <decision>    reverse an automated change (status, budget, bid) nobody has changed since
  approvals          the proposals of approval-mode rules awaiting a person
  approve <decision> carry out a proposal, only if the entity is still as proposed
  reject <decision>  record that a person refused a proposal (--reason)
  report             an HTML page of the automated actions and what triggered them
  simulate           how the rules interact over simulated days, with people acting between runs
  console            a local web page: rules, live decisions, entities, approvals, the simulator
  validate [paths]   check rule files (default: rules/)
  doctor             read-only probes: does the API answer the way the wire profile assumes?
  orgs               the organizations served: add, list, disable, enable (--orgs FILE)
  schema             print the rules JSON Schema

Configuration (flags > environment > defaults): THRAD_ADS_API_KEY or THRAD_API_KEY_SECRET_ID
(none: the bundled sandbox), THRAD_API_BASE_URL, AUDIT_TABLE_NAME, DYNAMODB_ENDPOINT,
THRAD_RULES_DATA_DIR, THRAD_RULES_DIR, THRAD_WIRE_PROFILE (reference | legacy),
THRAD_RULES_MAX_CHANGE_PERCENT (the most one budget or bid change may move, default 50).

Many organizations: every command takes --orgs FILE (or THRAD_ORGS_FILE) and --org ID (default:
the only org); \`run\` without --org serves every enabled org of the file.

Every command also takes --debug: on an error, print the stack trace too (or set
THRAD_RULES_DEBUG=1). audit, report and undo print times in the rules' time zone (the machine's
when the rules use several); --utc prints UTC.

Run "thrad-rules <command> --help" for a command's options and examples.
Exit codes: 0 ok; 1 failure (invalid rules, a refused undo or approval, a failed run, an unreachable API or
store); 2 wrong usage.`;

export interface CliContext {
  io: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C (the runner stops after its current cycle). */
  signal?: AbortSignal;
  /** How long one `run` cycle may take in real time (default 5 minutes; tests shorten it). */
  cycleTimeoutMs?: number;
  /** The organization the command serves (--orgs/--org), when there is a registry. */
  org?: OrgEntry;
  /** The registry it is in (a running `run` re-reads it at each tick). */
  registry?: FileOrgRegistry;
}

/** The commands that serve one organization of a registry (--orgs FILE, --org ID). */
const ORG_COMMANDS: ReadonlySet<string> = new Set(['run', 'preview', 'audit', 'undo', 'approvals', 'approve', 'reject', 'report', 'simulate', 'doctor', 'console']);

type Command = (args: string[], ctx: CliContext) => Promise<number> | number;

const COMMANDS: Record<string, Command> = {
  run: (args, ctx) => runCommand(args, ctx),
  preview: (args, ctx) => previewCommand(args, ctx),
  audit: (args, ctx) => auditCommand(args, ctx),
  undo: (args, ctx) => undoCommand(args, ctx),
  approvals: (args, ctx) => approvalsCommand(args, ctx),
  approve: (args, ctx) => approveCommand(args, ctx),
  reject: (args, ctx) => rejectCommand(args, ctx),
  report: (args, ctx) => reportCommand(args, ctx),
  simulate: (args, ctx) => simulateCommand(args, ctx),
  console: (args, ctx) => consoleCommand(args, ctx),
  doctor: (args, ctx) => doctorCommand(args, ctx),
  orgs: (args, ctx) => orgsCommand(args, ctx),
  validate: (args, ctx) => {
    const parsed = parseFlags(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, ctx.io, VALIDATE_HELP);
    if (parsed.values.help) {
      ctx.io.out(VALIDATE_HELP);
      return EXIT.ok;
    }
    return runValidate(parsed.positionals, { json: parsed.values.json === true, cwd: ctx.cwd, defaultRulesDir: DEFAULT_RULES_DIR }, ctx.io);
  },
  schema: (args, ctx) => {
    const help = 'Usage: thrad-rules schema\n\nPrints the JSON Schema of rule files (the same as rules/schema.json).\n\nExample:\n  npx thrad-rules schema > my-rules/schema.json';
    const parsed = parseFlags(args, { help: { type: 'boolean', short: 'h' } }, ctx.io, help);
    if (parsed.values.help) {
      ctx.io.out(help);
      return EXIT.ok;
    }
    ctx.io.out(JSON.stringify(rulesJsonSchema(), null, 2));
    return EXIT.ok;
  },
};

/** A signal aborted by the first Ctrl-C (or SIGTERM); a second Ctrl-C exits at once. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/** Run one command; never throws: every error is printed by the CLI's error printer. */
export async function main(argv: string[], ctx: CliContext = { io: processOutput, cwd: process.cwd(), env: process.env, signal: interruptSignal() }): Promise<number> {
  const { args, debug } = takeDebugFlag(argv, ctx.env);
  const [command, ...given] = args;
  let situationEnv = ctx.env;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      ctx.io.out(HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!handler) throw new UsageError(`Unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')}.`, 'Run "thrad-rules --help" for what each does.');
    if (!ORG_COMMANDS.has(command)) return await handler(given, ctx);
    const flags = takeOrgFlags(given, ctx.env, ctx.cwd);
    const selection = resolveOrgs(flags, ctx.env, command === 'run');
    if (selection.kind === 'all') return await runOrgsCommand(flags.args, { ...ctx, orgs: selection.orgs, registry: selection.registry });
    if (selection.kind === 'none') return await handler(flags.args, ctx);
    if (command === 'run' && !selection.org.enabled) throw new UsageError(`Organization ${selection.org.org_id} is disabled; enable it with \`thrad-rules orgs enable --orgs ${selection.registry.path} ${selection.org.org_id}\`.`);
    situationEnv = selection.env;
    return await handler(flags.args, { ...ctx, env: selection.env, org: selection.org, registry: selection.registry });
  } catch (error) {
    return reportError(error, ctx.io, { env: situationEnv, command: command !== undefined && Object.hasOwn(COMMANDS, command) ? command : undefined, debug });
  }
}
