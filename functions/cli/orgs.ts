// `thrad-rules orgs add|list|disable|enable`: the registry of organizations one deployment serves.
// Locally the registry is the orgs file (--orgs FILE or THRAD_ORGS_FILE); it holds where each
// org's key is (an environment variable or a Secrets Manager secret), never a key. `add` checks
// the key answers (GET /ad_account) and records the org's ad account, so a wrong key is found at
// onboarding, not at 22:00.
import { resolve } from 'node:path';
import { ThradClient } from '../thrad/client';
import { apiKeyProviderFromEnv } from '../thrad/keys';
import { loadConfig } from '../local/config';
import { auditDynamoClient } from '../audit/client';
import { localDynamoClient } from '../local/dynalite';
import { FileOrgRegistry, ORGS_FILE_ENV } from '../orgs/file';
import { TableOrgRegistry } from '../orgs/table';
import { orgEntrySchema, keySourceOf, type OrgEntry } from '../orgs/schema';
import { orgEnvironment } from '../orgs/select';
import { describeIssues } from '../shared/issues';
import { parseFlags } from './args';
import { explainError, UsageError } from './errors';
import { EXIT } from './output';
import type { CommandContext } from './shared';

export const ORGS_HELP = `Usage: thrad-rules orgs list   [--orgs FILE] [--json]
       thrad-rules orgs add    [--orgs FILE] --org ID (--key-env VAR | --secret-id ID) [--rules DIR] [--rule ID]... [--no-check]
       thrad-rules orgs disable [--orgs FILE] ID
       thrad-rules orgs enable  [--orgs FILE] ID

The organizations this deployment serves. Each Thrad organization has its own key (one active key
per organization) and its own 1,000 requests an hour; everything the autopilot records for an org
(decisions, claims, the request ledger) is kept under that org's ad account.

On AWS the registry is the deployment's audit table: set AUDIT_TABLE_NAME (and AWS credentials)
and give --secret-id (a secret under the deployment's orgSecretPrefix, default thrad-rules/orgs/).

Locally the registry is the orgs file (--orgs FILE, or ${ORGS_FILE_ENV}): a JSON array of
  { "org_id": "acme", "api_key_env": "THRAD_KEY_ACME" }            the key in that variable, or
  { "org_id": "acme", "api_key_secret_id": "thrad-rules/orgs/acme" } the key in that secret,
each with an optional "rules_dir" (relative to the file), "rule_ids" and "enabled". It never holds
a key. Every command takes --orgs FILE and --org ID (default: the only org); \`run\` without --org
serves every enabled org.

  --org ID        the org's name here (letters, digits, . _ -)
  --key-env VAR   the environment variable that holds its key
  --secret-id ID  or the Secrets Manager secret that does
  --rules DIR     its rules folder (default: the deployment's)
  --rule ID       only these rules apply to it (repeatable; default: all)
  --no-check      add without calling GET /ad_account with the key (the account is found on first run)

Exit codes: 0 ok; 1 the key does not answer, or the file is bad; 2 wrong usage.

Examples:
  npx thrad-rules orgs add --orgs orgs.json --org acme --key-env THRAD_KEY_ACME
  npx thrad-rules orgs list --orgs orgs.json
  npx thrad-rules orgs disable --orgs orgs.json acme
  AUDIT_TABLE_NAME=<AuditTableName> npx thrad-rules orgs add --org acme --secret-id thrad-rules/orgs/acme`;

/** The orgs file (--orgs FILE, THRAD_ORGS_FILE), else the deployment's table (AUDIT_TABLE_NAME). */
function registryFrom(flag: string | undefined, ctx: CommandContext): FileOrgRegistry | TableOrgRegistry {
  const file = flag ?? ctx.env[ORGS_FILE_ENV]?.trim();
  if (file !== undefined && file !== '') return new FileOrgRegistry(resolve(ctx.cwd, file));
  const config = loadConfig({}, ctx.env, ctx.cwd);
  if (config.tableName) return new TableOrgRegistry({ tableName: config.tableName, client: config.dynamoEndpoint ? localDynamoClient(config.dynamoEndpoint) : auditDynamoClient() });
  throw new UsageError(`orgs: name the orgs file with --orgs FILE (or ${ORGS_FILE_ENV}), or set AUDIT_TABLE_NAME for a deployment's registry on AWS.`, 'e.g. thrad-rules orgs list --orgs orgs.json');
}

const where = (registry: FileOrgRegistry | TableOrgRegistry): string => (registry instanceof FileOrgRegistry ? `--orgs ${registry.path}` : '');

function line(org: OrgEntry): string {
  const rules = org.rule_ids ? `rules ${org.rule_ids.join(', ')}` : org.rules_dir ? `rules in ${org.rules_dir}` : 'all rules';
  return `${org.org_id.padEnd(20)} ${org.enabled ? 'enabled ' : 'disabled'}  account ${org.ad_account_id ?? '(found on first run)'}  key in ${keySourceOf(org)}  ${rules}`;
}

export async function orgsCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    { orgs: { type: 'string' }, org: { type: 'string' }, 'key-env': { type: 'string' }, 'secret-id': { type: 'string' }, rules: { type: 'string' }, rule: { type: 'string', multiple: true }, 'no-check': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    ctx.io,
    ORGS_HELP,
  );
  if (values.help) {
    ctx.io.out(ORGS_HELP);
    return EXIT.ok;
  }
  const [verb, ...rest] = positionals;
  const registry = registryFrom(values.orgs, ctx);
  switch (verb) {
    case 'list': {
      const orgs = registry instanceof FileOrgRegistry ? registry.read(true) : await registry.list();
      if (values.json) ctx.io.out(JSON.stringify(orgs, null, 2));
      else if (orgs.length === 0) ctx.io.out(`No organizations in ${registry.describe}; add one with: thrad-rules orgs add ${where(registry)} --org ID ${registry instanceof FileOrgRegistry ? '--key-env VAR' : '--secret-id thrad-rules/orgs/ID'}`.replace('  ', ' '));
      else for (const org of orgs) ctx.io.out(line(org));
      return EXIT.ok;
    }
    case 'add':
      return addOrg(registry, values, ctx);
    case 'disable':
    case 'enable': {
      const [id] = rest;
      if (id === undefined) throw new UsageError(`orgs ${verb}: name the org (e.g. thrad-rules orgs ${verb} ${where(registry)} acme).`.replace('  ', ' '));
      const org = await registry.setEnabled(id, verb === 'enable');
      const local = registry instanceof FileOrgRegistry;
      // A local run re-reads the file at each tick (functions/orgs/watch.ts), but starts (checks the key of) only the orgs enabled when it started.
      const said = org.enabled
        ? local ? `enabled: \`thrad-rules run ${where(registry)}\` serves it from its next tick (a run started while it was disabled serves it once restarted)` : 'enabled: the autopilot serves it from its next tick'
        : local ? `disabled: the autopilot plans no more runs for it from its next tick, also in a \`thrad-rules run ${where(registry)}\` under way (its records stay)` : 'disabled: the autopilot plans no more runs for it (its records stay)';
      ctx.io.out(`${org.org_id}: ${said}.`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(verb === undefined ? 'orgs: say what to do: list, add, disable or enable.' : `orgs: unknown "${verb}"; use list, add, disable or enable.`, 'Run "thrad-rules orgs --help" for examples.');
  }
}

async function addOrg(registry: FileOrgRegistry | TableOrgRegistry, values: { org?: string; 'key-env'?: string; 'secret-id'?: string; rules?: string; rule?: string[]; 'no-check'?: boolean }, ctx: CommandContext): Promise<number> {
  if (values.org === undefined) throw new UsageError('orgs add: name the org with --org ID (e.g. --org acme).');
  if ((values['key-env'] === undefined) === (values['secret-id'] === undefined)) throw new UsageError('orgs add: say where its key is with exactly one of --key-env VAR or --secret-id ID (never the key itself).');
  const parsed = orgEntrySchema.safeParse({
    org_id: values.org,
    ...(values['key-env'] !== undefined ? { api_key_env: values['key-env'] } : { api_key_secret_id: values['secret-id'] }),
    ...(values.rules !== undefined ? { rules_dir: values.rules } : {}),
    ...(values.rule !== undefined ? { rule_ids: values.rule } : {}),
  });
  if (!parsed.success) throw new UsageError(`orgs add: ${describeIssues(parsed.error.issues, { root: '(org)' }).join('; ')}.`);
  let entry = parsed.data;
  if (registry instanceof TableOrgRegistry) {
    if (entry.api_key_secret_id === undefined) throw new UsageError('orgs add: on AWS the key lives in a Secrets Manager secret: give --secret-id (e.g. --secret-id thrad-rules/orgs/acme), not --key-env.');
    if (values['no-check']) throw new UsageError('orgs add: on AWS the org\'s ad account is read with its key before it is added; --no-check is for the orgs file only.');
  }
  if (!values['no-check']) {
    const env = orgEnvironment(ctx.env, entry, registry);
    const config = loadConfig({}, env, ctx.cwd);
    const keyProvider = apiKeyProviderFromEnv(env);
    if (!keyProvider) throw new UsageError('orgs add: no key source.');
    const client = new ThradClient({ baseUrl: config.apiBaseUrl, keyProvider, wireProfile: config.wireProfile });
    let account;
    try {
      account = await client.getAdAccount();
    } catch (error) {
      // Explained with the org's environment: the key came from its variable or secret.
      const { lines } = explainError(error, { env, command: 'orgs' });
      for (const l of lines) ctx.io.err(l);
      ctx.io.err(`Organization ${entry.org_id} was not added (add it anyway with --no-check).`);
      return EXIT.failure;
    }
    entry = { ...entry, ad_account_id: account.id };
    ctx.io.out(`The key in ${keySourceOf(entry)} answers for ad account ${account.id}${account.name ? ` (${account.name})` : ''}.`);
  }
  await registry.add(entry);
  ctx.io.out(registry instanceof FileOrgRegistry ? `Added ${entry.org_id} to ${registry.path}. \`thrad-rules run --orgs ${registry.path}\` serves it from its next tick (a run already under way serves it once restarted).` : `Added ${entry.org_id} to ${registry.describe}: the planner sends its ticks within a minute.`);
  return EXIT.ok;
}
