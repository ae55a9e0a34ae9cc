// Whether a local run may still serve an org it started: the orgs file is the authority, and a
// person edits it while `run --orgs FILE` (or `run --orgs FILE --org ID`) is under way (`orgs
// disable`, or an entry edited by hand). The AWS worker re-reads the org's registry entry before
// every tick; this is the local runner's same check. An org is served only while its entry is
// there, enabled, and still the one the run started with: the same key source, the same ad
// account (its records' prefix), the same rules. Anything else waits for a restart, which checks
// the new entry as a start does (its key must answer for its account).
//
// The file is re-read only when it changed (its inode, size or modification time: `orgs` commands
// write it whole and rename it over the old one). A file that cannot be read or is invalid serves
// no org: the run cannot tell whether the person meant to disable one.
import { statSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { FileOrgRegistry } from './file';
import { keySourceOf, type OrgEntry } from './schema';

export interface StartedOrg {
  /** The entry as the run started it. */
  entry: OrgEntry;
  /** The ad account its key answered for at the start (its records' prefix). */
  accountId: string;
}

type Stamp = string;

export class RegistryWatch {
  private stamp: Stamp | undefined;
  private current: Map<string, OrgEntry> | { error: string } = new Map();

  constructor(private readonly registry: Pick<FileOrgRegistry, 'path' | 'read'>) {}

  /** Why `started` must not run now, or null when its entry still says to serve it as started. */
  notServed(started: StartedOrg): string | null {
    const path = this.registry.path;
    const current = this.refresh();
    if ('error' in current) return `${current.error}; no cycle runs for it until the orgs file can be read`;
    const entry = current.get(started.entry.org_id);
    if (!entry) return `it is no longer in ${path}`;
    if (!entry.enabled) return `it is disabled in ${path}`;
    const was = started.entry;
    if (entry.ad_account_id !== undefined && entry.ad_account_id !== started.accountId) return `${path} now names ad account ${entry.ad_account_id}, not ${started.accountId} (the account its key answered for when this run started); restart the run to serve it as the file says`;
    if (entry.api_key_env !== was.api_key_env || entry.api_key_secret_id !== was.api_key_secret_id) return `its key is now in ${keySourceOf(entry)} in ${path}, not in ${keySourceOf(was)} as when this run started; restart the run to serve it with that key`;
    if (entry.rules_dir !== was.rules_dir || !isDeepStrictEqual(entry.rule_ids, was.rule_ids)) return `its rules in ${path} changed since this run started; restart the run to serve the rules the file names`;
    return null;
  }

  private refresh(): Map<string, OrgEntry> | { error: string } {
    let stamp: Stamp;
    try {
      const s = statSync(this.registry.path, { bigint: true });
      stamp = `${s.ino}|${s.size}|${s.mtimeNs}|${s.ctimeNs}`;
    } catch (error) {
      this.stamp = undefined;
      this.current = { error: `${this.registry.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
      return this.current;
    }
    if (stamp === this.stamp) return this.current;
    try {
      this.current = new Map(this.registry.read().map((o) => [o.org_id, o]));
    } catch (error) {
      this.current = { error: error instanceof Error ? error.message : String(error) };
    }
    this.stamp = stamp;
    return this.current;
  }
}

/**
 * `watch.notServed`, said through `say` only when its answer for an org changes: once when the org
 * stops being served (with why), once when it is served again (reason null). A run asks at every
 * tick; a person reads one line per change.
 */
export function announcedNotServed(watch: RegistryWatch, say: (started: StartedOrg, reason: string | null) => void): (started: StartedOrg) => string | null {
  const last = new Map<string, string | null>();
  return (started) => {
    const reason = watch.notServed(started);
    if ((last.get(started.entry.org_id) ?? null) !== reason) {
      last.set(started.entry.org_id, reason);
      say(started, reason);
    }
    return reason;
  };
}
