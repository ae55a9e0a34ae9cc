// Errors the sandbox answers with, in the API's bare error shape (fact sheet §7).
import type * as z from 'zod';
import { valueAt } from '../functions/shared/issues';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'payment_error' | 'api_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidValue = (param: string | null, message: string, code = 'invalid_value'): ApiError =>
  new ApiError(400, 'invalid_request_error', code, message, param);

export const notFound = (what: string, id: string, param: string | null = null): ApiError =>
  new ApiError(404, 'invalid_request_error', 'not_found', `No such ${what}: '${id}'.`, param);

/** Render a JSON path (zod issue path) the way the API names params: `ad_groups[0].ads[1].creative.type`. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The first zod issue of a request body → a 400 naming the field. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], input?: unknown, prefix?: string): ApiError {
  const issue = issues[0];
  if (!issue) return invalidValue(prefix ?? 'body', 'Invalid request.');
  const join = (path: readonly PropertyKey[]): string => {
    const inner = paramPath(path);
    if (!prefix) return inner;
    return inner === '' ? prefix : inner.startsWith('[') ? `${prefix}${inner}` : `${prefix}.${inner}`;
  };
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const param = join([...issue.path, key]);
    return invalidValue(param, `Unrecognized request parameter: '${param}'.`, 'unknown_parameter');
  }
  const param = join(issue.path);
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    return invalidValue(param, `Missing required parameter: '${param}'.`, 'missing_required_parameter');
  }
  return invalidValue(param || 'body', `Invalid value for '${param || 'body'}': ${issue.message}.`);
}

/** A `--generate` spec (or generator options) that cannot build a world; the message names the field. */
export class GenerateSpecError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'GenerateSpecError';
  }
}
