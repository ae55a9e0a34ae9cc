// Typed errors of the Thrad client. Every failure of a call surfaces as one of these; the
// translation from HTTP statuses, error bodies and socket failures happens only in
// `transport.ts` (`translateResponse`, `translateFetchFailure`).

export interface ThradApiErrorDetails {
  /** HTTP status of the response, or null when no response arrived (network, deadline, budget). */
  httpStatus: number | null;
  /** The API's error `type` (e.g. `invalid_request_error`), when the body said. */
  type: string | null;
  /** The API's machine `code` (e.g. `campaign_not_running`), or a client code for client-side failures. */
  code: string;
  /** The request field the API blamed, when it said. */
  param: string | null;
  /** `METHOD /path` of the call, without query or headers (never the key). */
  operation?: string;
  /** Whether the client may retry this failure. */
  retryable: boolean;
}

export class ThradApiError extends Error {
  readonly httpStatus: number | null;
  readonly type: string | null;
  readonly code: string;
  readonly param: string | null;
  readonly operation: string | undefined;
  readonly retryable: boolean;
  /**
   * Set by the client on the error a call finally fails with: whether any attempt failed in a way
   * that may have reached the API and changed something (a timeout, a reset, a 5xx, a bad body).
   * A status call that fails like this is unconfirmed, not failed.
   */
  mayHaveApplied = false;

  constructor(message: string, details: ThradApiErrorDetails, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ThradApiError';
    this.httpStatus = details.httpStatus;
    this.type = details.type;
    this.code = details.code;
    this.param = details.param;
    this.operation = details.operation;
    this.retryable = details.retryable;
  }

  /** A plain, key-free summary for logs and audit records. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      http_status: this.httpStatus,
      type: this.type,
      code: this.code,
      param: this.param,
      operation: this.operation ?? null,
    };
  }
}

type Details = Omit<ThradApiErrorDetails, 'retryable'>;

/** 401: missing, malformed, unknown, expired or revoked key. */
export class AuthenticationError extends ThradApiError {
  constructor(message: string, details: Details, options?: ErrorOptions) {
    super(message, { ...details, retryable: false }, options);
    this.name = 'AuthenticationError';
  }
}

/** 429 from the API. `retryAfterSeconds` is what the response's Retry-After said, if anything. */
export class RateLimitError extends ThradApiError {
  readonly retryAfterSeconds: number | null;
  constructor(message: string, details: Details & { retryAfterSeconds: number | null }, options?: ErrorOptions) {
    super(message, { ...details, retryable: true }, options);
    this.name = 'RateLimitError';
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retry_after_seconds: this.retryAfterSeconds };
  }
}

/** 404: no such resource for this organization. */
export class NotFoundError extends ThradApiError {
  constructor(message: string, details: Details, options?: ErrorOptions) {
    super(message, { ...details, retryable: false }, options);
    this.name = 'NotFoundError';
  }
}

/** 400/422 (and other 4xx without a class of their own): the request was wrong; never retried. */
export class InvalidRequestError extends ThradApiError {
  constructor(message: string, details: Details, options?: ErrorOptions) {
    super(message, { ...details, retryable: false }, options);
    this.name = 'InvalidRequestError';
  }
}

/** 409: e.g. `idempotency_key_reused`. */
export class ConflictError extends ThradApiError {
  constructor(message: string, details: Details, options?: ErrorOptions) {
    super(message, { ...details, retryable: false }, options);
    this.name = 'ConflictError';
  }
}

/** 402: e.g. `card_declined` on campaign creation. */
export class PaymentError extends ThradApiError {
  constructor(message: string, details: Details, options?: ErrorOptions) {
    super(message, { ...details, retryable: false }, options);
    this.name = 'PaymentError';
  }
}

/** 5xx. */
export class ServerError extends ThradApiError {
  constructor(message: string, details: Details, options?: ErrorOptions) {
    super(message, { ...details, retryable: true }, options);
    this.name = 'ServerError';
  }
}

export type NetworkFailureKind = 'timeout' | 'reset' | 'connection';

/** No usable response: the socket was reset or refused, or the per-request timeout fired. */
export class NetworkError extends ThradApiError {
  readonly kind: NetworkFailureKind;
  constructor(message: string, details: Omit<Details, 'httpStatus' | 'type' | 'param'> & { kind: NetworkFailureKind }, options?: ErrorOptions) {
    super(message, { ...details, httpStatus: null, type: null, param: null, retryable: true }, options);
    this.name = 'NetworkError';
    this.kind = details.kind;
  }
}

/** A response arrived but its body was not the JSON shape the API documents. */
export class MalformedResponseError extends ThradApiError {
  /** Where the body departed from the schema (zod issue paths), for diagnosis. */
  readonly issues: readonly string[];
  constructor(message: string, details: Details & { issues: readonly string[] }, options?: ErrorOptions) {
    super(message, { ...details, retryable: true }, options);
    this.name = 'MalformedResponseError';
    this.issues = details.issues;
  }
}

/** The client's own request budget (the documented per-key hourly limit) cannot cover the work. */
export class RequestBudgetExceededError extends ThradApiError {
  readonly used: number;
  readonly limit: number;
  readonly needed: number;
  /** Unix ms when enough capacity will be free again. */
  readonly availableAtMs: number;
  constructor(message: string, details: { operation?: string; used: number; limit: number; needed: number; availableAtMs: number }) {
    super(message, { httpStatus: null, type: null, param: null, code: 'request_budget_exceeded', operation: details.operation, retryable: false });
    this.name = 'RequestBudgetExceededError';
    this.used = details.used;
    this.limit = details.limit;
    this.needed = details.needed;
    this.availableAtMs = details.availableAtMs;
  }
}

/** The caller's deadline does not leave time for (another) attempt. */
export class DeadlineExceededError extends ThradApiError {
  constructor(message: string, details: { operation?: string }, options?: ErrorOptions) {
    super(message, { httpStatus: null, type: null, param: null, code: 'deadline_exceeded', operation: details.operation, retryable: false }, options);
    this.name = 'DeadlineExceededError';
  }
}

/** What of a question an insights answer did not honour (the parameter the API ignored or renamed). */
export type AnswerMismatchCheck = 'range' | 'level' | 'scope' | 'supply' | 'filter' | 'field' | 'page_size' | 'cursor';

/**
 * An insights answer to a different question than the one asked: a row for another range, level,
 * scope or supply, a row without a field asked for, a page longer than `limit`, or `has_more`
 * that disagrees with the cursors. Never retried (the API would answer the same); the read fails
 * so nothing acts on it. `mismatch` names what differed, e.g. "row start=… end=… but asked for …".
 */
export class AnswerMismatchError extends ThradApiError {
  readonly check: AnswerMismatchCheck;
  readonly mismatch: string;
  constructor(details: { operation: string; check: AnswerMismatchCheck; mismatch: string; param: string | null }) {
    super(`Thrad API ${details.operation} answered a different question: ${details.mismatch}`, {
      httpStatus: 200, type: null, code: 'answer_mismatch', param: details.param, operation: details.operation, retryable: false,
    });
    this.name = 'AnswerMismatchError';
    this.check = details.check;
    this.mismatch = details.mismatch;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), check: this.check, mismatch: this.mismatch };
  }
}

/** A query the selected wire profile cannot express (e.g. metadata fields in `legacy`); nothing was sent. */
export class UnsupportedQueryError extends ThradApiError {
  readonly wireProfile: string;
  constructor(message: string, details: { operation: string; wireProfile: string; param: string | null }) {
    super(message, { httpStatus: null, type: null, code: 'unsupported_by_wire_profile', param: details.param, operation: details.operation, retryable: false });
    this.name = 'UnsupportedQueryError';
    this.wireProfile = details.wireProfile;
  }
}

/** THRAD_WIRE_PROFILE (or the CDK context `wireProfile`) names no profile. */
export class UnknownWireProfileError extends Error {
  constructor(readonly value: string, readonly known: readonly string[]) {
    super(`Unknown wire profile "${value}": use one of ${known.join(', ')}.`);
    this.name = 'UnknownWireProfileError';
  }
}

/** A key provider could not produce a key (unset variable, missing or empty secret). */
export class ApiKeyUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiKeyUnavailableError';
  }
}
