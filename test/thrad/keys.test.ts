// Key providers: the environment, and Secrets Manager (mocked: no real Secrets Manager runs here)
// with its cache, refresh and error messages that never carry the key.
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../functions/shared/clock';
import { ApiKeyUnavailableError } from '../../functions/thrad/errors';
import { apiKeyProviderFromEnv, EnvApiKeyProvider, SecretsManagerApiKeyProvider } from '../../functions/thrad/keys';

const secrets = mockClient(SecretsManagerClient);
const OLD = 'ak_live_old_5e4d3c2b1a';
const NEW = 'ak_live_new_0f9e8d7c6b';

describe('SecretsManagerApiKeyProvider', () => {
  beforeEach(() => secrets.reset());

  it('caches the key for the TTL, then reads the secret again', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'thrad/api-key' }).resolvesOnce({ SecretString: OLD }).resolves({ SecretString: NEW });
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 9, 0, 0));
    const provider = new SecretsManagerApiKeyProvider({ secretId: 'thrad/api-key', client: new SecretsManagerClient({ region: 'us-east-1' }), cacheTtlMs: 60_000, clock });
    await expect(provider.getKey()).resolves.toBe(OLD);
    clock.advance(59_000);
    await expect(provider.getKey()).resolves.toBe(OLD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.advance(2_000);
    await expect(provider.getKey()).resolves.toBe(NEW);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('refresh() bypasses the cache (a rotated key after a 401)', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: OLD }).resolves({ SecretString: NEW });
    const provider = new SecretsManagerApiKeyProvider({ secretId: 'k', client: new SecretsManagerClient({ region: 'us-east-1' }) });
    await expect(provider.getKey()).resolves.toBe(OLD);
    await expect(provider.refresh()).resolves.toBe(NEW);
    await expect(provider.getKey()).resolves.toBe(NEW);
  });

  it('shares one fetch between concurrent callers', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: OLD });
    const provider = new SecretsManagerApiKeyProvider({ secretId: 'k', client: new SecretsManagerClient({ region: 'us-east-1' }) });
    await Promise.all([provider.getKey(), provider.getKey(), provider.getKey()]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it.each([
    [{ SecretString: JSON.stringify({ api_key: NEW }) }, NEW],
    [{ SecretString: JSON.stringify({ THRAD_ADS_API_KEY: NEW }) }, NEW],
    [{ SecretString: `  ${NEW}\n` }, NEW],
  ])('reads %j', async (output, expected) => {
    secrets.on(GetSecretValueCommand).resolves(output);
    await expect(new SecretsManagerApiKeyProvider({ secretId: 'k', client: new SecretsManagerClient({ region: 'us-east-1' }) }).getKey()).resolves.toBe(expected);
  });

  it.each([
    ['an empty secret', { SecretString: '' }, /has no value yet/],
    ['JSON without api_key', { SecretString: JSON.stringify({ key: NEW }) }, /without an "api_key"/],
    ['a value that is not a Thrad key', { SecretString: 'sk-not-thrad-1234567890' }, /does not look like a Thrad secret key/],
  ])('refuses %s with a message that holds no secret', async (_name, output, message) => {
    secrets.on(GetSecretValueCommand).resolves(output);
    const error = await new SecretsManagerApiKeyProvider({ secretId: 'k', client: new SecretsManagerClient({ region: 'us-east-1' }) }).getKey().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiKeyUnavailableError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(NEW);
    expect((error as Error).message).not.toContain('sk-not-thrad-1234567890');
  });

  it('turns an SDK failure into ApiKeyUnavailableError naming the secret and the permission', async () => {
    secrets.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    const error = await new SecretsManagerApiKeyProvider({ secretId: 'thrad/api-key', client: new SecretsManagerClient({ region: 'us-east-1' }) }).getKey().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiKeyUnavailableError);
    expect((error as Error).message).toMatch(/Secrets Manager secret thrad\/api-key: ResourceNotFoundException.*secretsmanager:GetSecretValue/);
  });
});

describe('EnvApiKeyProvider and apiKeyProviderFromEnv', () => {
  it('reads THRAD_ADS_API_KEY and re-reads it on refresh', async () => {
    const env: NodeJS.ProcessEnv = { THRAD_ADS_API_KEY: OLD };
    const provider = new EnvApiKeyProvider(env);
    await expect(provider.getKey()).resolves.toBe(OLD);
    env.THRAD_ADS_API_KEY = NEW;
    await expect(provider.refresh()).resolves.toBe(NEW);
  });

  it('says which variable is missing', async () => {
    await expect(new EnvApiKeyProvider({}).getKey()).rejects.toThrow('THRAD_ADS_API_KEY is not set.');
  });

  it('prefers the secret over the variable, and gives nothing when neither is set', () => {
    expect(apiKeyProviderFromEnv({ THRAD_API_KEY_SECRET_ID: 'thrad/api-key', THRAD_ADS_API_KEY: OLD })?.source).toBe('Secrets Manager secret thrad/api-key');
    expect(apiKeyProviderFromEnv({ THRAD_ADS_API_KEY: OLD })?.source).toBe('the THRAD_ADS_API_KEY environment variable');
    expect(apiKeyProviderFromEnv({})).toBeUndefined();
  });
});
