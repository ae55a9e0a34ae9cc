// The one translation place: statuses, bodies and socket failures → typed errors.
import { describe, expect, it } from 'vitest';
import { adAccountSchema } from '../../functions/thrad/schemas';
import {
  AuthenticationError,
  ConflictError,
  InvalidRequestError,
  MalformedResponseError,
  NotFoundError,
  PaymentError,
  RateLimitError,
  ServerError,
} from '../../functions/thrad/errors';
import { parseRetryAfter, translateFetchFailure, translateResponse } from '../../functions/thrad/transport';

const NOW_MS = Date.UTC(2026, 2, 10, 15, 0, 0);
const response = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  bodyText: typeof body === 'string' ? body : JSON.stringify(body),
});
const errorBody = (code: string, type = 'invalid_request_error', param: string | null = null) => ({ error: { message: `m ${code}`, type, param, code } });

describe('parseRetryAfter', () => {
  it.each([
    ['7', 7],
    ['0', 0],
    [' 2.5 ', 2.5],
    ['Tue, 10 Mar 2026 15:00:30 GMT', 30],
    ['Tue, 10 Mar 2026 14:00:00 GMT', 0],
    ['soon', null],
    ['', null],
    [null, null],
  ])('%j → %j seconds', (value, expected) => {
    expect(parseRetryAfter(value, NOW_MS)).toBe(expected);
  });
});

describe('translateResponse', () => {
  it('parses a 2xx body with the schema, stripping extra fields', () => {
    const value = translateResponse(response(200, { id: 'a', name: '', url: '', timezone: 'UTC', currency_code: 'USD', object: 'ad_account' }), adAccountSchema, 'GET /ad_account', NOW_MS);
    expect(value).toEqual({ id: 'a', name: '', url: '', timezone: 'UTC', currency_code: 'USD' });
  });

  it.each([
    ['not JSON', '{"id": "a"', 'malformed_json'],
    ['wrong type', { id: 5, name: '', url: '', timezone: 'UTC', currency_code: 'USD' }, 'unexpected_shape'],
    ['missing field', { id: 'a' }, 'unexpected_shape'],
  ])('a 200 with %s → MalformedResponseError (%s), retryable', (_name, body, code) => {
    const act = (): unknown => translateResponse(response(200, body), adAccountSchema, 'GET /ad_account', NOW_MS);
    expect(act).toThrow(MalformedResponseError);
    try {
      act();
    } catch (error) {
      expect(error).toMatchObject({ code, retryable: true, httpStatus: 200 });
    }
  });

  it.each([
    [400, errorBody('campaign_not_running'), InvalidRequestError, 'campaign_not_running', false],
    [401, errorBody('invalid_api_key', 'authentication_error'), AuthenticationError, 'invalid_api_key', false],
    [402, errorBody('card_declined', 'payment_error'), PaymentError, 'card_declined', false],
    [403, errorBody('forbidden', 'permission_error'), AuthenticationError, 'forbidden', false],
    [404, errorBody('not_found'), NotFoundError, 'not_found', false],
    [409, errorBody('idempotency_key_reused'), ConflictError, 'idempotency_key_reused', false],
    [422, errorBody('invalid_value', 'invalid_request_error', 'name'), InvalidRequestError, 'invalid_value', false],
    [429, errorBody('rate_limit_exceeded', 'rate_limit_error'), RateLimitError, 'rate_limit_exceeded', true],
    [500, errorBody('internal_error', 'api_error'), ServerError, 'internal_error', true],
    [502, '<html>Bad gateway</html>', ServerError, 'http_502', true],
    [418, 'teapot', InvalidRequestError, 'http_418', false],
  ] as const)('%i → %s %s (retryable %s)', (status, body, errorClass, code, retryable) => {
    try {
      translateResponse(response(status, body, { 'Retry-After': '12' }), adAccountSchema, 'GET /ad_account', NOW_MS);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toMatchObject({ httpStatus: status, code, retryable, operation: 'GET /ad_account' });
      if (error instanceof RateLimitError) expect(error.retryAfterSeconds).toBe(12);
    }
  });

  it('keeps the API message, scrubbed of anything shaped like a key', () => {
    const body = { error: { message: 'Key ak_live_abcdef123456 is revoked.', type: 'authentication_error', param: null, code: 'invalid_api_key' } };
    try {
      translateResponse(response(401, body), adAccountSchema, 'GET /ad_account', NOW_MS);
    } catch (error) {
      expect((error as Error).message).not.toContain('ak_live_abcdef123456');
      expect((error as Error).message).toMatch(/401 invalid_api_key: Key \[redacted key_[0-9a-f]{12}\] is revoked\./);
    }
  });
});

describe('translateFetchFailure', () => {
  const withCode = (code: string): Error => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket'), { code }) });
  it.each([
    [withCode('ECONNRESET'), false, 'reset', 'connection_reset'],
    [withCode('UND_ERR_SOCKET'), false, 'reset', 'connection_reset'],
    [withCode('ECONNREFUSED'), false, 'connection', 'connection_failed'],
    [Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), true, 'timeout', 'timeout'],
    [new TypeError('fetch failed'), false, 'reset', 'connection_reset'],
  ])('%s → %s', (error, timedOut, kind, code) => {
    expect(translateFetchFailure(error, 'GET /x', timedOut)).toMatchObject({ name: 'NetworkError', kind, code, retryable: true, httpStatus: null });
  });
});
