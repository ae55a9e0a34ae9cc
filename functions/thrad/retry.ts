// Retry policy: which failures are retried and how long to wait between attempts.
// Exponential backoff with full jitter (delay = random(0, min(cap, base * 2^(attempt-1)))),
// never shorter than a Retry-After the API gave.
import { RateLimitError, type ThradApiError } from './errors';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Never start an attempt with less time than this left before the deadline. */
  minAttemptMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  minAttemptMs: 250,
};

export function backoffDelayMs(error: ThradApiError, attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  if (error instanceof RateLimitError && error.retryAfterSeconds !== null) {
    return Math.max(jittered, Math.ceil(error.retryAfterSeconds * 1000));
  }
  return jittered;
}
