// The organizations registry: where a deployment's orgs are listed. Locally a JSON file (the orgs
// file, file.ts); on AWS items of the audit table (table.ts). Both hold where each key is, never
// a key.
import type { OrgEntry } from './schema';

export interface OrgRegistry {
  /** Every org, enabled or not, sorted by org_id. */
  list(): Promise<OrgEntry[]>;
  /** Add an org; refuses an org_id already there. */
  add(entry: OrgEntry): Promise<void>;
  /** Enable or disable an org (a disabled org is planned for no tick and run by nothing). */
  setEnabled(orgId: string, enabled: boolean): Promise<OrgEntry>;
  /** Remember an org's ad account once resolved (GET /ad_account with its key). */
  setAccount(orgId: string, adAccountId: string): Promise<void>;
  /** Where the registry is, for messages. */
  readonly describe: string;
}
