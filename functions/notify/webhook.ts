// The webhook channel: a message's Slack payload POSTed as JSON to one address (a Slack incoming
// webhook, or any HTTPS receiver). Retries are bounded: at most `maxAttempts` tries, each with a
// per-request timeout, waiting `backoffMs` × 2^(n−1) between them, or what a 429's Retry-After
// asks when that is at most `maxRetryAfterMs` (more than that: given up, not waited for); no
// retry waits past the run's deadline. 5xx, 429, timeouts and network errors are retried; any
// other answer is final. Redirects are refused (the payload goes to the address configured, or
// nowhere). The address is never logged or recorded: only its host appears in errors.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { NotificationRecord } from '../audit/records';
import { failedRecord, type NotificationChannel, type OutgoingMessage, type SendOptions } from '../engine/notifier';
import { CachedSecret } from '../shared/secret-cache';
import { realSleep, systemClock, type Clock, type Sleep } from '../shared/clock';
import { parseRetryAfter } from '../shared/http';
import { redactKeys } from '../shared/secrets';
import { WebhookUnavailableError } from './errors';
import { webhookUrl } from './url';

/** The local runner's webhook address. */
export const WEBHOOK_URL_ENV = 'THRAD_RULES_WEBHOOK_URL';
/** On AWS: the Secrets Manager secret holding the address. */
export const WEBHOOK_SECRET_ENV = 'THRAD_RULES_WEBHOOK_SECRET_ID';

export const WEBHOOK_DEFAULTS = {
  maxAttempts: 3,
  timeoutMs: 5_000,
  backoffMs: 1_000,
  maxRetryAfterMs: 10_000,
  /** How long the address read from its secret is reused. */
  secretCacheTtlMs: 5 * 60_000,
} as const;

/** Where the address comes from (resolved at each send, so a rotated secret is picked up). */
export interface WebhookAddress {
  url(): Promise<URL>;
}

export class StaticWebhookAddress implements WebhookAddress {
  constructor(private readonly address: URL) {}
  url(): Promise<URL> {
    return Promise.resolve(this.address);
  }
}

const secretJsonSchema = z.object({ url: z.string() });

/** A Secrets Manager secret holding the address: the plain URL, or JSON `{"url": "…"}`. */
export class SecretWebhookAddress implements WebhookAddress {
  private readonly secret: CachedSecret<URL>;
  constructor(options: { secretId: string; client: SecretsManagerClient; clock?: Clock; cacheTtlMs?: number }) {
    const variable = `the webhook secret ${options.secretId} (${WEBHOOK_SECRET_ENV})`;
    this.secret = new CachedSecret({
      secretId: options.secretId,
      client: options.client,
      cacheTtlMs: options.cacheTtlMs ?? WEBHOOK_DEFAULTS.secretCacheTtlMs,
      clock: options.clock ?? systemClock,
      parse: (secretString) => {
        const trimmed = secretString.trim();
        if (!trimmed.startsWith('{')) return webhookUrl(trimmed, { variable, allowLoopbackHttp: false });
        let json: unknown;
        try {
          json = JSON.parse(trimmed);
        } catch {
          throw new WebhookUnavailableError(`${variable} looks like JSON but does not parse.`);
        }
        const parsed = secretJsonSchema.safeParse(json);
        if (!parsed.success) throw new WebhookUnavailableError(`${variable} is JSON without a "url" string field.`);
        return webhookUrl(parsed.data.url, { variable, allowLoopbackHttp: false });
      },
      unavailable: (problem) =>
        problem.kind === 'unreadable'
          ? new WebhookUnavailableError(`Could not read ${variable}: ${problem.errorName}. Check that it exists and that this role may call secretsmanager:GetSecretValue on it.`, { cause: problem.cause })
          : new WebhookUnavailableError(`${variable} has no value yet: put the webhook URL in it.`),
    });
  }
  url(): Promise<URL> {
    return this.secret.get();
  }
}

export interface WebhookChannelOptions {
  address: WebhookAddress;
  fetch?: typeof fetch;
  /** Waits between attempts (tests pass one that records instead of waiting). */
  sleep?: Sleep;
  /** Real time, for the run's deadline. */
  realClock?: Clock;
  maxAttempts?: number;
  timeoutMs?: number;
  backoffMs?: number;
  maxRetryAfterMs?: number;
}

/** Shortest per-request timeout worth trying. */
const MIN_ATTEMPT_MS = 1_000;

type Attempt = { kind: 'sent'; status: number } | { kind: 'final'; status: number | null; error: string } | { kind: 'retry'; status: number | null; error: string; delayMs: number | null };

/** Retry-After in ms (the one parser the Thrad client uses too); null when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  const seconds = parseRetryAfter(header, nowMs);
  return seconds === null ? null : seconds * 1000;
}

export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook' as const;
  private readonly fetch: typeof fetch;
  private readonly sleep: Sleep;
  private readonly realClock: Clock;
  private readonly limits: { maxAttempts: number; timeoutMs: number; backoffMs: number; maxRetryAfterMs: number };

  constructor(private readonly options: WebhookChannelOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? realSleep;
    this.realClock = options.realClock ?? systemClock;
    this.limits = {
      maxAttempts: Math.max(1, options.maxAttempts ?? WEBHOOK_DEFAULTS.maxAttempts),
      timeoutMs: options.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs,
      backoffMs: options.backoffMs ?? WEBHOOK_DEFAULTS.backoffMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? WEBHOOK_DEFAULTS.maxRetryAfterMs,
    };
  }

  async send(message: OutgoingMessage, options: SendOptions): Promise<NotificationRecord> {
    let url: URL;
    try {
      url = await this.options.address.url();
    } catch (error) {
      return failedRecord(this.name, message.kind, 0, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
    const body = JSON.stringify(message.slack);
    const { maxAttempts, timeoutMs, backoffMs, maxRetryAfterMs } = this.limits;
    const failed = (attempts: number, error: string, status: number | null): NotificationRecord => failedRecord(this.name, message.kind, attempts, error, status);
    for (let attempt = 1; ; attempt += 1) {
      const result = await this.attempt(url, body, Math.max(MIN_ATTEMPT_MS, Math.min(timeoutMs, options.deadlineMs - this.realClock.nowMs())));
      if (result.kind === 'sent') return { channel: this.name, kind: message.kind, status: 'sent', attempts: attempt, http_status: result.status, error: null };
      if (result.kind === 'final') return failed(attempt, result.error, result.status);
      if (attempt >= maxAttempts) return failed(attempt, `${result.error} (gave up after ${attempt} attempts)`, result.status);
      const delayMs = result.delayMs ?? backoffMs * 2 ** (attempt - 1);
      if (delayMs > maxRetryAfterMs) return failed(attempt, `${result.error}; Retry-After ${Math.round(delayMs / 1000)} s is longer than the ${maxRetryAfterMs / 1000} s the notifier waits`, result.status);
      if (this.realClock.nowMs() + delayMs + MIN_ATTEMPT_MS > options.deadlineMs) return failed(attempt, `${result.error}; no time left before the run's deadline for another attempt`, result.status);
      await this.sleep(delayMs);
    }
  }

  private async attempt(url: URL, body: string, timeoutMs: number): Promise<Attempt> {
    let response: Response;
    try {
      response = await this.fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'retry', status: null, error: `no answer from ${url.host} within ${timeoutMs} ms`, delayMs: null };
      const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
      const code = typeof cause?.code === 'string' ? cause.code : name;
      return { kind: 'retry', status: null, error: `could not reach ${url.host} (${code})`, delayMs: null };
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return { kind: 'sent', status: response.status };
    const snippet = redactKeys(text.trim().slice(0, 200));
    const error = `${url.host} answered HTTP ${response.status}${snippet ? `: ${snippet}` : ''}`;
    if (response.status === 429) return { kind: 'retry', status: 429, error, delayMs: retryAfterMs(response.headers.get('retry-after'), this.realClock.nowMs()) };
    if (response.status >= 500) return { kind: 'retry', status: response.status, error, delayMs: null };
    return { kind: 'final', status: response.status, error };
  }
}
