// An organization of the registry: which Thrad organization a deployment serves, where its key is,
// which rules apply to it, and whether it is enabled. One Thrad key belongs to one organization
// (thrad-api.md §1), and each key has its own 1,000 requests an hour, so everything per org (its
// records, claims, ledger, leases) lives under its ad account's key prefix in the audit table.
//
// The orgs file (locally) is a JSON array of these; on AWS the same entries are items of the
// audit table (functions/orgs/table.ts). Neither ever holds a key: only where to find it.
import * as z from 'zod';
import { RULE_ID } from '../rules/schema';

export const ORG_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const orgEntrySchema = z
  .strictObject({
    /** The name this deployment gives the organization (flags, logs, records). */
    org_id: z.string().regex(ORG_ID, 'expected 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    /** The environment variable holding the org's key (local use). */
    api_key_env: z
      .string()
      .regex(ENV_NAME, 'expected an environment variable name such as THRAD_KEY_ACME')
      .refine((name) => !name.startsWith('ak_'), 'this looks like a key itself: give the name of the environment variable that holds it (e.g. THRAD_KEY_ACME)')
      .optional(),
    /** The Secrets Manager secret holding the org's key ({"api_key": "ak_..."} or the bare key). */
    api_key_secret_id: z
      .string()
      .min(1)
      .max(2048)
      .refine((id) => !id.startsWith('ak_'), 'this looks like a key itself: give the name or ARN of the secret that holds it')
      .optional(),
    /** The org's rules folder (default: the deployment's rules). Relative to the orgs file. */
    rules_dir: z.string().min(1).optional(),
    /** Only these rules apply to the org (default: every rule of its folder). */
    rule_ids: z.array(z.string().regex(RULE_ID)).min(1).optional(),
    /** The org's ad account (GET /ad_account), once known: its records' key prefix. */
    ad_account_id: z.string().min(1).max(128).optional(),
    enabled: z.boolean().default(true),
  })
  .refine((o) => (o.api_key_env === undefined) !== (o.api_key_secret_id === undefined), {
    message: 'give exactly one of "api_key_env" or "api_key_secret_id" (where the key is, never the key itself)',
  });
export type OrgEntry = z.infer<typeof orgEntrySchema>;
export type OrgEntryInput = z.input<typeof orgEntrySchema>;

export const orgsFileSchema = z.array(orgEntrySchema).superRefine((orgs, ctx) => {
  const seen = new Set<string>();
  const accounts = new Map<string, string>();
  orgs.forEach((org, index) => {
    if (seen.has(org.org_id)) ctx.addIssue({ code: 'custom', path: [index, 'org_id'], message: `org_id "${org.org_id}" appears twice` });
    seen.add(org.org_id);
    // One organization per ad account: its records, claims and ledger live under the account.
    const other = org.ad_account_id === undefined ? undefined : accounts.get(org.ad_account_id);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'ad_account_id'], message: `ad account ${org.ad_account_id ?? ''} is already organization "${other}"'s (one organization per ad account)` });
    if (org.ad_account_id !== undefined && other === undefined) accounts.set(org.ad_account_id, org.org_id);
  });
});

/** Where an org's key is, for messages (never the key). */
export function keySourceOf(org: Pick<OrgEntry, 'api_key_env' | 'api_key_secret_id'>): string {
  return org.api_key_env !== undefined ? `the ${org.api_key_env} environment variable` : `the secret ${org.api_key_secret_id ?? '?'}`;
}

/** Select the org a command acts for: the one named, or the only one. */
export function selectOrg(orgs: readonly OrgEntry[], orgId: string | undefined): OrgEntry | { error: string } {
  const ids = orgs.map((o) => o.org_id);
  if (orgId !== undefined) {
    const found = orgs.find((o) => o.org_id === orgId);
    return found ?? { error: `--org: no organization "${orgId}" in the registry; it has ${ids.length === 0 ? 'none' : ids.join(', ')}` };
  }
  if (orgs.length === 1 && orgs[0]) return orgs[0];
  return { error: orgs.length === 0 ? 'the registry has no organizations; add one with `thrad-rules orgs add`' : `the registry has ${orgs.length} organizations (${ids.join(', ')}); name one with --org ID` };
}
