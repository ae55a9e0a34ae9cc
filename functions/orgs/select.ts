// Which organization a command acts for: `--orgs FILE` (or THRAD_ORGS_FILE) names the registry,
// `--org ID` the org (default: the only one). A command for one org runs exactly as it does
// without a registry, with that org's key, ad account and rules in its environment; so every
// command (run, simulate, preview, audit, report, undo, doctor, approvals) serves one org the same
// way. The key is never copied anywhere but this process's environment of the command.
import { resolve } from 'node:path';
import { API_KEY_ENV, API_KEY_SECRET_ENV } from '../thrad/keys';
import { OrgsFileError, UnknownOrgError } from './errors';
import { FileOrgRegistry, ORGS_FILE_ENV } from './file';
import type { OrgRegistry } from './registry';
import { selectOrg, type OrgEntry } from './schema';

/** The org a process serves, for the account cache and for logs. */
export const ORG_ID_ENV = 'THRAD_RULES_ORG';
/** The variable the org's key was taken from (for messages; never the key). */
export const ORG_KEY_ENV_ENV = 'THRAD_RULES_ORG_KEY_ENV';

export interface OrgFlags {
  /** argv without --orgs/--org. */
  args: string[];
  orgsFile: string | undefined;
  orgId: string | undefined;
}

/** Take `--orgs FILE` / `--orgs=FILE` and `--org ID` / `--org=ID` out of argv (every command accepts them). */
export function takeOrgFlags(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): OrgFlags {
  const args: string[] = [];
  let orgsFile: string | undefined;
  let orgId: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const match = /^--(orgs|org)(?:=(.*))?$/.exec(arg);
    if (!match) {
      args.push(arg);
      continue;
    }
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UnknownOrgError(`--${match[1] ?? ''} needs a value (e.g. ${match[1] === 'orgs' ? '--orgs orgs.json' : '--org acme'}).`, null, []);
      i += 1;
    }
    if (match[1] === 'orgs') orgsFile = value;
    else orgId = value;
  }
  const fromEnv = env[ORGS_FILE_ENV]?.trim();
  const file = orgsFile ?? (fromEnv ? fromEnv : undefined);
  return { args, orgsFile: file === undefined ? undefined : resolve(cwd, file), orgId };
}

/**
 * The environment of a command for one org: its key's source (THRAD_ADS_API_KEY from the
 * variable named, or THRAD_API_KEY_SECRET_ID), its ad account when known, its rules folder.
 */
export function orgEnvironment(env: NodeJS.ProcessEnv, org: OrgEntry, registry: Pick<OrgRegistry, 'describe'> & { rulesDirOf?: (org: OrgEntry) => string | undefined }): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, [ORG_ID_ENV]: org.org_id };
  delete out[API_KEY_ENV];
  delete out[API_KEY_SECRET_ENV];
  delete out.THRAD_AD_ACCOUNT_ID;
  delete out[ORG_KEY_ENV_ENV];
  if (org.api_key_env !== undefined) {
    const key = env[org.api_key_env];
    if (key === undefined || key.trim() === '') throw new OrgsFileError(`Organization "${org.org_id}": its key variable ${org.api_key_env} is not set (${registry.describe} says the key is there). Set it, or change the entry's "api_key_env".`, registry.describe);
    out[API_KEY_ENV] = key;
    out[ORG_KEY_ENV_ENV] = org.api_key_env;
  } else if (org.api_key_secret_id !== undefined) {
    out[API_KEY_SECRET_ENV] = org.api_key_secret_id;
  }
  if (org.ad_account_id !== undefined) out.THRAD_AD_ACCOUNT_ID = org.ad_account_id;
  const rulesDir = registry.rulesDirOf?.(org);
  if (rulesDir !== undefined) out.THRAD_RULES_DIR = rulesDir;
  return out;
}

export type OrgSelection =
  | { kind: 'none' }
  | { kind: 'one'; org: OrgEntry; registry: FileOrgRegistry; env: NodeJS.ProcessEnv }
  | { kind: 'all'; orgs: OrgEntry[]; registry: FileOrgRegistry };

/**
 * Resolve the flags: no registry → none (the single-account behaviour); `--org` or a registry of
 * one → that org; several orgs and no `--org` → all (only `run` serves several; the others ask).
 */
export function resolveOrgs(flags: OrgFlags, env: NodeJS.ProcessEnv, allowAll: boolean): OrgSelection {
  if (flags.orgsFile === undefined) {
    if (flags.orgId !== undefined) throw new UnknownOrgError(`--org ${flags.orgId}: no registry of organizations; name one with --orgs FILE or ${ORGS_FILE_ENV}.`, flags.orgId, []);
    return { kind: 'none' };
  }
  const registry = new FileOrgRegistry(flags.orgsFile);
  const orgs = registry.read();
  if (flags.orgId === undefined && allowAll && orgs.length > 1) return { kind: 'all', orgs, registry };
  const picked = selectOrg(orgs, flags.orgId);
  if ('error' in picked) throw new UnknownOrgError(picked.error, flags.orgId ?? null, orgs.map((o) => o.org_id));
  return { kind: 'one', org: picked, registry, env: orgEnvironment(env, picked, registry) };
}
