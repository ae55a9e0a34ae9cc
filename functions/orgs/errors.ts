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
