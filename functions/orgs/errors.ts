// What the organizations registry reports: a bad orgs file or entry (naming the file and the path),
// and an org that is not in the registry.

/** The orgs file (or a registry entry) is unreadable or invalid; the message names where. */
export class OrgsFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'OrgsFileError';
  }
}

/** `--org ID` names no organization of the registry (or several orgs and none was named). */
export class UnknownOrgError extends Error {
  constructor(
    message: string,
    readonly orgId: string | null,
    readonly known: readonly string[],
  ) {
    super(message);
    this.name = 'UnknownOrgError';
  }
}

/** The registry table refused a change or holds an entry it cannot use; the message says which and why. */
export class OrgRegistryError extends Error {
  constructor(
    message: string,
    readonly orgId: string | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OrgRegistryError';
  }
}

/** `add` of an org_id (or an ad account) the registry already has. */
export class DuplicateOrgError extends OrgRegistryError {
  constructor(
    message: string,
    orgId: string,
    /** The org already registered (the same org_id, or the org serving that ad account). */
    readonly existing: string,
  ) {
    super(message, orgId);
    this.name = 'DuplicateOrgError';
  }
}
