// Typed errors of the console's HTTP API. Each carries the HTTP status it is answered with; the
// server (server.ts) turns them, and only them, into JSON error bodies. Anything else is a 500
// whose message is scrubbed of key-shaped text.

/** Base of the console's request errors. */
export class ConsoleError extends Error {
  readonly httpStatus: number;
  constructor(message: string, httpStatus: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsoleError';
    this.httpStatus = httpStatus;
  }
}

/** A query or body field that is missing or malformed (400): names the field. */
export class ConsoleInputError extends ConsoleError {
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, 400, options);
    this.name = 'ConsoleInputError';
    this.field = field;
  }
}

/** A request from another origin (or for another host) than the console's own (403). */
export class ConsoleForbiddenError extends ConsoleError {
  constructor(message: string) {
    super(message, 403);
    this.name = 'ConsoleForbiddenError';
  }
}

/** No such page, endpoint or record (404). */
export class ConsoleNotFoundError extends ConsoleError {
  constructor(message: string) {
    super(message, 404);
    this.name = 'ConsoleNotFoundError';
  }
}

/** An endpoint asked with the wrong method (405). */
export class ConsoleMethodError extends ConsoleError {
  readonly allowed: readonly string[];
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(`${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, 405);
    this.name = 'ConsoleMethodError';
    this.allowed = allowed;
  }
}

/** The request is valid but what it asks cannot be done here and now (409): a refused approval, no live sandbox. */
export class ConsoleConflictError extends ConsoleError {
  constructor(message: string) {
    super(message, 409);
    this.name = 'ConsoleConflictError';
  }
}
