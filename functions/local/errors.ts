// What the local runner and the CLI report when they cannot start: each message says what to do.

/** Bad configuration (environment variables, flags), naming the variable and what was found. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What a command runs against (the API, the sandbox, the audit store) could not be opened. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

/** The embedded store's folder is held open by another process (its LevelDB lock). */
export class StoreFolderLockedError extends Error {
  constructor(options?: ErrorOptions) {
    super('its folder is locked by another process', options);
    this.name = 'StoreFolderLockedError';
  }
}
