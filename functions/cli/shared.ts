// What the commands share: configuration, the environment, the rules folder, and the time zone
// times are printed in. Errors are not caught here: they reach main(), whose printer (errors.ts)
// says what happened and what to do.
import { existsSync } from 'node:fs';
import { ENV, loadConfig, type LocalConfig } from '../local/config';
import { openEnvironment, type LocalEnvironment } from '../local/environment';
import { machineTimeZone } from '../local/format';
import { formatIssue } from '../rules/errors';
import { loadRules, type RuleSetLoad } from '../rules/validate';
import { RulesUnavailableError } from './errors';
import type { Output } from './output';
import type { OrgEntry } from '../orgs/schema';
import type { ClientEvent } from '../thrad/client';

export interface CommandContext {
  io: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The organization served (--orgs/--org): its `rule_ids` narrow the rules. */
  org?: OrgEntry;
}

/** Open what a command needs, run it, and close what was opened (also when it throws). */
export async function withEnvironment(ctx: CommandContext, flags: { rules?: string; onClientEvent?: (event: ClientEvent) => void }, needApi: boolean | 'live', body: (env: LocalEnvironment, config: LocalConfig) => Promise<number>): Promise<number> {
  const config = loadConfig(flags, ctx.env, ctx.cwd);
  let environment: LocalEnvironment | undefined;
  try {
    environment = await openEnvironment(config, { role: 'cli', needApi: needApi !== false, requireLiveSandbox: needApi === 'live', env: ctx.env, onClientEvent: flags.onClientEvent });
    return await body(environment, config);
  } finally {
    await environment?.close();
  }
}

/** How the rules folder was chosen, for messages. */
function chosenBy(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return '--rules';
  return env[ENV.rulesDir]?.trim() ? ENV.rulesDir : 'the default';
}

/**
 * The rules a command runs. Problems in rule files are printed one per line (the valid rules
 * still load); a folder that gives nothing to run is a RulesUnavailableError.
 */
export function loadRuleFolder(rulesDir: string, ctx: CommandContext, flag: string | undefined): RuleSetLoad {
  const by = chosenBy(flag, ctx.env);
  if (!existsSync(rulesDir)) throw new RulesUnavailableError({ rulesDir, problem: 'missing', chosenBy: by });
  const loaded = loadRules([rulesDir], ctx.cwd);
  if (loaded.files.length === 0 && loaded.issues.length === 0) throw new RulesUnavailableError({ rulesDir, problem: 'empty', chosenBy: by });
  for (const issue of loaded.issues) ctx.io.err(formatIssue(issue));
  if (loaded.rules.length === 0) throw new RulesUnavailableError({ rulesDir, problem: 'invalid', chosenBy: by, errors: loaded.issues.filter((i) => i.severity === 'error').length });
  return forOrg(loaded, ctx);
}

/** The rules that apply to the org served: its `rule_ids`, when it names them (an unknown id is said). */
export function forOrg(loaded: RuleSetLoad, ctx: Pick<CommandContext, 'io' | 'org'>): RuleSetLoad {
  const only = ctx.org?.rule_ids;
  if (!only) return loaded;
  const known = new Set(loaded.rules.map((r) => r.rule.id));
  for (const id of only) if (!known.has(id)) ctx.io.err(`Organization ${ctx.org?.org_id ?? ''}: its rule_ids name "${id}", which is not a valid rule of this folder; it is skipped.`);
  return { ...loaded, rules: loaded.rules.filter((r) => only.includes(r.rule.id)) };
}

/**
 * The zone times are printed in: UTC with --utc; the rules' zone when every enabled rule shares
 * one (as `npm start` prints them); otherwise this machine's. Rules that do not load are ignored.
 */
export function displayTimeZone(config: Pick<LocalConfig, 'rulesDir'>, ctx: CommandContext, utc: boolean | undefined): string {
  if (utc) return 'UTC';
  const zones = existsSync(config.rulesDir) ? new Set(loadRules([config.rulesDir], ctx.cwd).rules.filter((r) => r.rule.enabled).map((r) => r.rule.schedule.timezone)) : new Set<string>();
  const [only] = zones;
  return zones.size === 1 && only !== undefined ? only : machineTimeZone(ctx.env);
}
