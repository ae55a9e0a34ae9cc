// The one place where HTTP meets types: sending a request, and translating whatever comes back
// (a status and a body, or a socket failure) into a parsed value or a typed error.
import { parseRetryAfter } from '../shared/http';
import type * as z from 'zod';
import { describeIssues } from '../shared/issues';
import { redactKeys } from '../shared/secrets';
import {
  AuthenticationError,
  ConflictError,
  InvalidRequestError,
  MalformedResponseError,
  NetworkError,
  NotFoundError,
  PaymentError,
  RateLimitError,
  ServerError,
  type ThradApiError,
} from './errors';
import { errorBodySchema } from './schemas';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  bodyText: string;
}

export type FetchLike = typeof fetch;

/** Send one request with a hard timeout; socket failures become `NetworkError`. */
export async function sendHttp(
  fetchImpl: FetchLike,
  request: HttpRequest,
  timeoutMs: number,
  operation: string,
  signal?: AbortSignal,
): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)));
  const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: combined,
    });
    // Reading the body can fail on its own (reset mid-body, timeout while streaming).
    const bodyText = await response.text();
    return { status: response.status, headers: response.headers, bodyText };
  } catch (error) {
    throw translateFetchFailure(error, operation, timeout.aborted);
  }
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** A thrown fetch failure → `NetworkError` (timeout, reset or connection). */
export function translateFetchFailure(error: unknown, operation: string, timedOut: boolean): NetworkError {
  const name = error instanceof Error ? error.name : '';
  if (timedOut || name === 'TimeoutError') {
    return new NetworkError(`Thrad API ${operation} timed out`, { code: 'timeout', kind: 'timeout', operation }, { cause: error });
  }
  if (name === 'AbortError') {
    return new NetworkError(`Thrad API ${operation} was aborted`, { code: 'aborted', kind: 'timeout', operation }, { cause: error });
  }
  const code = errorCode(error);
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return new NetworkError(`Thrad API ${operation} could not connect (${code})`, { code: 'connection_failed', kind: 'connection', operation }, { cause: error });
  }
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  const kind = code === undefined || RESET_CODES.has(code) ? 'reset' : 'connection';
  return new NetworkError(`Thrad API ${operation} lost its connection (${redactKeys(detail)})`, { code: kind === 'reset' ? 'connection_reset' : 'connection_failed', kind, operation }, { cause: error });
}

/**
 * Retry-After as seconds: either delta-seconds or an HTTP date (relative to `nowMs`).
 * Returns null when absent or unreadable.
 */
export { parseRetryAfter };

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Render zod issues as `path: message` strings. */
/**
 * A response → the parsed body (2xx) or a typed error. This and `translateFetchFailure` are the
 * only places that look at HTTP statuses and raw bodies.
 */
export function translateResponse<T extends z.ZodType>(
  response: HttpResponse,
  schema: T,
  operation: string,
  nowMs: number,
): z.infer<T> {
  const { status } = response;
  const parsed = parseJson(response.bodyText);
  if (status >= 200 && status < 300) {
    if (!parsed.ok) {
      throw new MalformedResponseError(`Thrad API ${operation} answered ${status} with a body that is not JSON`, {
        httpStatus: status, type: null, code: 'malformed_json', param: null, operation, issues: ['(body): not JSON'],
      });
    }
    const result = schema.safeParse(parsed.value);
    if (!result.success) {
      const issues = describeIssues(result.error.issues);
      throw new MalformedResponseError(`Thrad API ${operation} answered ${status} with an unexpected shape: ${issues.join('; ')}`, {
        httpStatus: status, type: null, code: 'unexpected_shape', param: null, operation, issues,
      });
    }
    return result.data;
  }
  throw translateErrorStatus(response, parsed.ok ? parsed.value : undefined, operation, nowMs);
}

function translateErrorStatus(response: HttpResponse, body: unknown, operation: string, nowMs: number): ThradApiError {
  const { status } = response;
  const errorBody = errorBodySchema.safeParse(body);
  const info = errorBody.success ? errorBody.data.error : undefined;
  const code = info?.code ?? `http_${status}`;
  const details = {
    httpStatus: status,
    type: info?.type ?? null,
    code,
    param: info?.param ?? null,
    operation,
  };
  const apiMessage = info ? redactKeys(info.message) : `HTTP ${status} without a Thrad error body`;
  const message = `Thrad API ${operation} failed: ${status} ${code}${details.param ? ` (param ${details.param})` : ''}: ${apiMessage}`;
  if (status === 401 || status === 403) return new AuthenticationError(message, details);
  if (status === 402) return new PaymentError(message, details);
  if (status === 404) return new NotFoundError(message, details);
  if (status === 409) return new ConflictError(message, details);
  if (status === 429) {
    return new RateLimitError(message, { ...details, retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after'), nowMs) });
  }
  if (status >= 500) return new ServerError(message, details);
  return new InvalidRequestError(message, details);
}
