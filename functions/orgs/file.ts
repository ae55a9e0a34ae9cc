// The orgs file: the local registry of organizations, a JSON array of entries (schema.ts). Read
// whole and written whole, atomically (a temporary file renamed over it), so a reader never sees
// half a file. A bad file is an error naming the file and every bad path; nothing is guessed.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeIssues } from '../shared/issues';
import { OrgsFileError, UnknownOrgError } from './errors';
import type { OrgRegistry } from './registry';
import { orgsFileSchema, type OrgEntry } from './schema';

export const ORGS_FILE_ENV = 'THRAD_ORGS_FILE';

/** A synchronous step as a promise: what it throws is a rejection, as the registry interface says. */
function settled<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export class FileOrgRegistry implements OrgRegistry {
  readonly describe: string;
  constructor(readonly path: string) {
    this.describe = `the orgs file ${path}`;
  }

  /** Read and validate the file; a missing file is an empty registry only when `allowMissing`. */
  read(allowMissing = false): OrgEntry[] {
    if (!existsSync(this.path)) {
      if (allowMissing) return [];
      throw new OrgsFileError(`${this.path}: no such orgs file. Create it with \`thrad-rules orgs add --orgs ${this.path} --org ID --key-env VAR\`.`, this.path);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      throw new OrgsFileError(`${this.path}: not valid JSON (${(error as Error).message}).`, this.path);
    }
    const parsed = orgsFileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new OrgsFileError(`${this.path}: ${describeIssues(parsed.error.issues, { root: '(orgs)' }).join('; ')}. Each entry is { "org_id": "…", "api_key_env": "ENV_VAR" } (or "api_key_secret_id"), with optional "rules_dir", "rule_ids", "enabled".`, this.path);
    }
    return [...parsed.data].sort((a, b) => a.org_id.localeCompare(b.org_id));
  }

  /** An org's rules folder, resolved against the orgs file's folder. */
  rulesDirOf(org: OrgEntry): string | undefined {
    if (org.rules_dir === undefined) return undefined;
    return isAbsolute(org.rules_dir) ? org.rules_dir : resolve(dirname(this.path), org.rules_dir);
  }

  list(): Promise<OrgEntry[]> {
    return settled(() => this.read());
  }

  add(entry: OrgEntry): Promise<void> {
    return settled(() => {
      const orgs = this.read(true);
      if (orgs.some((o) => o.org_id === entry.org_id)) throw new OrgsFileError(`${this.path}: org_id "${entry.org_id}" is already there (disable it with \`thrad-rules orgs disable ${entry.org_id}\`).`, this.path);
      this.write([...orgs, entry]);
    });
  }

  setEnabled(orgId: string, enabled: boolean): Promise<OrgEntry> {
    return settled(() => this.update(orgId, (o) => ({ ...o, enabled })));
  }

  setAccount(orgId: string, adAccountId: string): Promise<void> {
    return settled(() => {
      this.update(orgId, (o) => ({ ...o, ad_account_id: adAccountId }));
    });
  }

  private update(orgId: string, change: (org: OrgEntry) => OrgEntry): OrgEntry {
    const orgs = this.read();
    const index = orgs.findIndex((o) => o.org_id === orgId);
    const current = orgs[index];
    if (!current) throw new UnknownOrgError(`${this.path}: no organization "${orgId}"; it has ${orgs.map((o) => o.org_id).join(', ') || 'none'}.`, orgId, orgs.map((o) => o.org_id));
    const next = change(current);
    orgs[index] = next;
    this.write(orgs);
    return next;
  }

  private write(orgs: readonly OrgEntry[]): void {
    const sorted = [...orgs].sort((a, b) => a.org_id.localeCompare(b.org_id));
    const checked = orgsFileSchema.safeParse(sorted);
    if (!checked.success) throw new OrgsFileError(`${this.path}: not changed: ${describeIssues(checked.error.issues, { root: '(orgs)' }).join('; ')}.`, this.path);
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(sorted, null, 2)}\n`);
    renameSync(temporary, this.path);
  }
}
