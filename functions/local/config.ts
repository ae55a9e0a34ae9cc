// Configuration of the local runner and the CLI, one way for both: flags > environment > defaults.
import { resolve } from 'node:path';
import * as z from 'zod';
import { ConfigError } from './errors';
import { DEFAULT_BASE_URL } from '../thrad/client';
import { API_KEY_ENV, API_KEY_SECRET_ENV } from '../thrad/keys';
import { maxChangeFractionFrom, MAX_CHANGE_PERCENT_ENV } from '../actions/limits';
import { WebhookConfigError } from '../notify/errors';
import { webhookUrl } from '../notify/url';
import { WEBHOOK_URL_ENV } from '../notify/webhook';
import { DEFAULT_WIRE_PROFILE, WIRE_PROFILE_ENV, WIRE_PROFILE_NAMES, type WireProfileName } from '../thrad/wire';

export const PROJECT_ROOT = resolve(__dirname, '..', '..');

export const ENV = {
  apiKey: API_KEY_ENV,
  apiKeySecret: API_KEY_SECRET_ENV,
  apiBaseUrl: 'THRAD_API_BASE_URL',
  tableName: 'AUDIT_TABLE_NAME',
  dynamoEndpoint: 'DYNAMODB_ENDPOINT',
  dataDir: 'THRAD_RULES_DATA_DIR',
  rulesDir: 'THRAD_RULES_DIR',
  retentionDays: 'RETENTION_DAYS',
  wireProfile: WIRE_PROFILE_ENV,
  maxChangePercent: MAX_CHANGE_PERCENT_ENV,
  webhookUrl: WEBHOOK_URL_ENV,
} as const;

export const DEFAULT_TABLE_NAME = 'thrad-autopilot-audit';

export interface LocalConfig {
  /** Where the rules are. */
  rulesDir: string;
  /** Where the embedded store keeps its data (git-ignored by default). */
  dataDir: string;
  /** A DynamoDB table instead of the embedded store. */
  tableName: string | undefined;
  /** A DynamoDB-compatible endpoint for that table (a local server; the table is created if missing). */
  dynamoEndpoint: string | undefined;
  /** Whether a real API key is configured (variable or secret); otherwise the bundled sandbox is used. */
  hasApiKey: boolean;
  apiBaseUrl: string;
  /** True when THRAD_API_BASE_URL was set explicitly. */
  apiBaseUrlSet: boolean;
  retentionDays: number | undefined;
  /** The insights wire shape to speak (and the bundled sandbox serves). */
  wireProfile: WireProfileName;
  /** The engine-wide safety limit of one money change, as a fraction (THRAD_RULES_MAX_CHANGE_PERCENT). */
  maxChangeFraction: number;
  /** Where digests and failure alerts are posted (THRAD_RULES_WEBHOOK_URL; Slack-compatible), if anywhere. */
  webhookUrl: URL | undefined;
}

export interface ConfigFlags {
  rules?: string;
  dataDir?: string;
}

const envSchema = z.object({
  [ENV.retentionDays]: z.coerce.number().int().positive().optional(),
  [ENV.apiBaseUrl]: z.url({ protocol: /^https?$/ }).optional(),
  [ENV.wireProfile]: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined), z.enum(WIRE_PROFILE_NAMES).optional()),
});

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd: string): LocalConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message} (found ${JSON.stringify(env[String(i.path[0])])})`).join('; '));
  }
  const limit = maxChangeFractionFrom(env[ENV.maxChangePercent]);
  if ('error' in limit) throw new ConfigError(limit.error);
  const nonEmpty = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  const webhook = nonEmpty(env[ENV.webhookUrl]);
  let webhookAddress: URL | undefined;
  try {
    webhookAddress = webhook === undefined ? undefined : webhookUrl(webhook, { variable: ENV.webhookUrl, allowLoopbackHttp: true });
  } catch (error) {
    if (error instanceof WebhookConfigError) throw new ConfigError(error.message);
    throw error;
  }
  return {
    rulesDir: resolve(cwd, flags.rules ?? nonEmpty(env[ENV.rulesDir]) ?? resolve(PROJECT_ROOT, 'rules')),
    dataDir: resolve(cwd, flags.dataDir ?? nonEmpty(env[ENV.dataDir]) ?? resolve(PROJECT_ROOT, '.thrad-rules')),
    tableName: nonEmpty(env[ENV.tableName]),
    dynamoEndpoint: nonEmpty(env[ENV.dynamoEndpoint]),
    hasApiKey: nonEmpty(env[ENV.apiKey]) !== undefined || nonEmpty(env[ENV.apiKeySecret]) !== undefined,
    apiBaseUrl: nonEmpty(env[ENV.apiBaseUrl]) ?? DEFAULT_BASE_URL,
    apiBaseUrlSet: nonEmpty(env[ENV.apiBaseUrl]) !== undefined,
    retentionDays: parsed.data[ENV.retentionDays],
    wireProfile: parsed.data[ENV.wireProfile] ?? DEFAULT_WIRE_PROFILE,
    maxChangeFraction: limit.fraction,
    webhookUrl: webhookAddress,
  };
}
