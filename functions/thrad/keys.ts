// Where the API key comes from: the THRAD_ADS_API_KEY variable (local use) or a Secrets Manager
// secret (AWS), cached in memory. `refresh()` bypasses the cache after a `401 invalid_api_key`,
// which is how a rotated key is picked up. No message here ever contains the key.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CachedSecret } from '../shared/secret-cache';
import { systemClock, type Clock } from '../shared/clock';
import { ApiKeyUnavailableError } from './errors';

export interface ApiKeyProvider {
  getKey(): Promise<string>;
  /** Re-read the key from its source, bypassing any cache; resolves to the key now current. */
  refresh(): Promise<string>;
  /** Where the key comes from, for logs (never the key). */
  readonly source: string;
}

export const API_KEY_ENV = 'THRAD_ADS_API_KEY';
export const API_KEY_SECRET_ENV = 'THRAD_API_KEY_SECRET_ID';
export const DEFAULT_SECRET_CACHE_TTL_MS = 5 * 60_000;

function checkKeyShape(key: string, source: string): string {
  const trimmed = key.trim();
  if (trimmed === '') throw new ApiKeyUnavailableError(`The API key from ${source} is empty.`);
  if (!trimmed.startsWith('ak_')) {
    throw new ApiKeyUnavailableError(`The API key from ${source} does not look like a Thrad secret key (it should start with "ak_").`);
  }
  return trimmed;
}

/** A fixed key (tests, the sandbox demo). */
export class StaticApiKeyProvider implements ApiKeyProvider {
  readonly source = 'a static key';
  constructor(private key: string) {}
  getKey(): Promise<string> {
    return Promise.resolve(this.key);
  }
  refresh(): Promise<string> {
    return Promise.resolve(this.key);
  }
  /** Replace the key (what a person rotating it by hand would do). */
  set(key: string): void {
    this.key = key;
  }
}

/** THRAD_ADS_API_KEY, re-read on refresh so a changed variable is picked up. */
export class EnvApiKeyProvider implements ApiKeyProvider {
  readonly source: string;
  constructor(private readonly env: NodeJS.ProcessEnv = process.env, private readonly name: string = API_KEY_ENV) {
    this.source = `the ${name} environment variable`;
  }
  getKey(): Promise<string> {
    return new Promise((resolve) => {
      const value = this.env[this.name];
      if (value === undefined) throw new ApiKeyUnavailableError(`${this.name} is not set.`);
      resolve(checkKeyShape(value, this.source));
    });
  }
  refresh(): Promise<string> {
    return this.getKey();
  }
}

export interface SecretsManagerKeyProviderOptions {
  secretId: string;
  client?: SecretsManagerClient;
  /** How long a fetched key is reused before Secrets Manager is asked again. */
  cacheTtlMs?: number;
  clock?: Clock;
}

/**
 * A Secrets Manager secret holding the key, either as the plain string or as JSON with an
 * `api_key` (or `THRAD_ADS_API_KEY`) field.
 */
export class SecretsManagerApiKeyProvider implements ApiKeyProvider {
  readonly source: string;
  private readonly secret: CachedSecret<string>;

  constructor(options: SecretsManagerKeyProviderOptions) {
    const source = `Secrets Manager secret ${options.secretId}`;
    this.source = source;
    this.secret = new CachedSecret({
      secretId: options.secretId,
      client: options.client ?? new SecretsManagerClient({}),
      cacheTtlMs: options.cacheTtlMs ?? DEFAULT_SECRET_CACHE_TTL_MS,
      clock: options.clock ?? systemClock,
      parse: (secretString) => checkKeyShape(extractKey(secretString), source),
      unavailable: (problem) =>
        problem.kind === 'unreadable'
          ? new ApiKeyUnavailableError(`Could not read ${source}: ${problem.errorName}. Check that it exists, has a value, and that this role may call secretsmanager:GetSecretValue on it.`, { cause: problem.cause })
          : new ApiKeyUnavailableError(`${source} has no value yet. Put the key in it (README: "The API key secret").`),
    });
  }

  getKey(): Promise<string> {
    return this.secret.get();
  }

  refresh(): Promise<string> {
    return this.secret.refresh();
  }
}

function extractKey(secretString: string): string {
  const trimmed = secretString.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new ApiKeyUnavailableError('The API key secret looks like JSON but does not parse.');
  }
  if (parsed !== null && typeof parsed === 'object') {
    for (const field of ['api_key', API_KEY_ENV]) {
      const value = (parsed as Record<string, unknown>)[field];
      if (typeof value === 'string') return value;
    }
  }
  throw new ApiKeyUnavailableError('The API key secret is JSON without an "api_key" string field.');
}

/** Where the environment says the key comes from (the variable named, and the secret's name), never the key. */
export type ApiKeySource = { variable: typeof API_KEY_SECRET_ENV; secretId: string } | { variable: typeof API_KEY_ENV };

/** THRAD_API_KEY_SECRET_ID (Secrets Manager) wins over THRAD_ADS_API_KEY; undefined when neither is set. */
export function apiKeySourceFromEnv(env: NodeJS.ProcessEnv = process.env): ApiKeySource | undefined {
  const secretId = env[API_KEY_SECRET_ENV];
  if (secretId !== undefined && secretId.trim() !== '') return { variable: API_KEY_SECRET_ENV, secretId: secretId.trim() };
  if (env[API_KEY_ENV] !== undefined) return { variable: API_KEY_ENV };
  return undefined;
}

/** The provider the environment asks for (see `apiKeySourceFromEnv`); undefined when neither is set. */
export function apiKeyProviderFromEnv(env: NodeJS.ProcessEnv = process.env, options: Omit<SecretsManagerKeyProviderOptions, 'secretId'> = {}): ApiKeyProvider | undefined {
  const source = apiKeySourceFromEnv(env);
  if (source?.variable === API_KEY_SECRET_ENV) return new SecretsManagerApiKeyProvider({ ...options, secretId: source.secretId });
  if (source?.variable === API_KEY_ENV) return new EnvApiKeyProvider(env);
  return undefined;
}
