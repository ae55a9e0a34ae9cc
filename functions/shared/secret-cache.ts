// One Secrets Manager secret read through a cache: the value is reused for `cacheTtlMs`, one read
// is in flight at a time, and `refresh()` bypasses the cache (a rotated value is picked up). The
// API key provider and the webhook address both read their secret through it; each says how its
// value is parsed and which typed error a missing or unreadable secret becomes.
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from './clock';

export type SecretProblem = { kind: 'unreadable'; errorName: string; cause: unknown } | { kind: 'empty' };

export interface CachedSecretOptions<T> {
  secretId: string;
  client: SecretsManagerClient;
  cacheTtlMs: number;
  clock: Clock;
  /** The value in the secret string; throws its own typed error when the string is not one. */
  parse: (secretString: string) => T;
  /** The typed error for a secret that cannot be read, or has no value yet. */
  unavailable: (problem: SecretProblem) => Error;
}

export class CachedSecret<T> {
  private cached: { value: T; fetchedAtMs: number } | undefined;
  private inFlight: Promise<T> | undefined;

  constructor(private readonly options: CachedSecretOptions<T>) {}

  get(): Promise<T> {
    if (this.cached && this.options.clock.nowMs() - this.cached.fetchedAtMs < this.options.cacheTtlMs) return Promise.resolve(this.cached.value);
    return this.fetch();
  }

  refresh(): Promise<T> {
    this.cached = undefined;
    return this.fetch();
  }

  private fetch(): Promise<T> {
    this.inFlight ??= this.fetchOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetchOnce(): Promise<T> {
    const { client, secretId, parse, unavailable, clock } = this.options;
    let secretString: string | undefined;
    try {
      const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      secretString = output.SecretString;
    } catch (error) {
      throw unavailable({ kind: 'unreadable', errorName: error instanceof Error ? error.name : 'Error', cause: error });
    }
    if (secretString === undefined || secretString.trim() === '') throw unavailable({ kind: 'empty' });
    const value = parse(secretString);
    this.cached = { value, fetchedAtMs: clock.nowMs() };
    return value;
  }
}
