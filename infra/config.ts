// Synth-time configuration: context parameters, and the rules shipped with the deployment,
// validated (an invalid rule fails the synth with the validator's message) and grouped by
// (expression, time zone) for the planner, which works out each org's due rules every minute.
import { resolve } from 'node:path';
import type { Node } from 'constructs';
import { maxChangeFractionFrom } from '../functions/actions/limits';
import { ORG_ID } from '../functions/orgs/schema';
import { formatIssue } from '../functions/rules/errors';
import { scheduleGroups, type ScheduleGroup } from '../functions/rules/groups';
import { loadRuleTexts, readRuleTexts, type LoadedRule, type RuleText } from '../functions/rules/validate';
import { DEFAULT_WIRE_PROFILE, isWireProfileName, WIRE_PROFILE_NAMES, type WireProfileName } from '../functions/thrad/wire';

export const ROOT = resolve(__dirname, '..');

export interface AutopilotConfig {
  stage: string;
  /**
   * The single-account deployment's key secret, by name or ARN: served as the default org
   * (`defaultOrgId`) until the registry has an org of that name or ad account.
   */
  secretName?: string;
  secretArn?: string;
  /** The default org's name (context `defaultOrgId`, default `default`). */
  defaultOrgId: string;
  /** Registered orgs' secrets must be named with this prefix (context `orgSecretPrefix`). */
  orgSecretPrefix: string;
  /** The most worker invocations at once, across orgs (context `workerConcurrency`, 2–1000). */
  workerConcurrency: number;
  alarmEmail?: string;
  /**
   * The Secrets Manager secret holding the webhook URL (Slack incoming webhook or any HTTPS
   * receiver), by name or ARN (context `webhookSecretName` / `webhookSecretArn`); none: SNS only.
   */
  webhookSecretName?: string;
  webhookSecretArn?: string;
  retentionDays: number;
  apiBaseUrl?: string;
  accountId?: string;
  rulesDir: string;
  /** The insights wire profile the function speaks (context `wireProfile`, default reference). */
  wireProfile: WireProfileName;
  /** The safety limit of one money change in percent (context `maxChangePercent`, default 50). */
  maxChangePercent: number;
}

export class RuleSynthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleSynthError';
  }
}

export const DEFAULT_ORG_SECRET_PREFIX = 'thrad-rules/orgs/';
export const DEFAULT_WORKER_CONCURRENCY = 10;
export const DEFAULT_ORG_ID = 'default';
/** Characters of a Secrets Manager secret name (no wildcards: the prefix becomes an IAM resource). */
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,400}$/;

function optional(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function configFromContext(node: Node): AutopilotConfig {
  const retention = Number(node.tryGetContext('retentionDays') ?? 400);
  if (!Number.isInteger(retention) || retention < 1) throw new RuleSynthError(`Context retentionDays must be a whole number of days ≥ 1 (got ${String(node.tryGetContext('retentionDays'))}).`);
  const wireProfile = optional(node, 'wireProfile') ?? DEFAULT_WIRE_PROFILE;
  if (!isWireProfileName(wireProfile)) throw new RuleSynthError(`Context wireProfile must be one of ${WIRE_PROFILE_NAMES.join(', ')} (got "${wireProfile}").`);
  const limitRaw: unknown = node.tryGetContext('maxChangePercent');
  const limit = maxChangeFractionFrom(typeof limitRaw === 'number' || typeof limitRaw === 'string' ? String(limitRaw) : limitRaw === undefined ? undefined : JSON.stringify(limitRaw), 'Context maxChangePercent');
  if ('error' in limit) throw new RuleSynthError(`${limit.error}.`);
  const concurrencyRaw: unknown = node.tryGetContext('workerConcurrency') ?? DEFAULT_WORKER_CONCURRENCY;
  const workerConcurrency = typeof concurrencyRaw === 'number' ? concurrencyRaw : typeof concurrencyRaw === 'string' && concurrencyRaw.trim() !== '' ? Number(concurrencyRaw) : Number.NaN;
  // SQS event sources take a maximum concurrency of 2 to 1000.
  if (!Number.isInteger(workerConcurrency) || workerConcurrency < 2 || workerConcurrency > 1000) throw new RuleSynthError(`Context workerConcurrency must be a whole number from 2 to 1000 (the most org cycles at once; got ${JSON.stringify(concurrencyRaw)}).`);
  const orgSecretPrefix = optional(node, 'orgSecretPrefix') ?? DEFAULT_ORG_SECRET_PREFIX;
  if (!SECRET_PREFIX.test(orgSecretPrefix)) throw new RuleSynthError(`Context orgSecretPrefix must be the start of a secret name (letters, digits and / _ + = . @ -, no wildcards), e.g. thrad-rules/orgs/ (got "${orgSecretPrefix}").`);
  const defaultOrgId = optional(node, 'defaultOrgId') ?? DEFAULT_ORG_ID;
  if (!ORG_ID.test(defaultOrgId)) throw new RuleSynthError(`Context defaultOrgId must be 1–63 letters, digits, ".", "_" or "-" (got "${defaultOrgId}").`);
  return {
    stage: optional(node, 'stage') ?? 'prod',
    secretName: optional(node, 'secretName'),
    secretArn: optional(node, 'secretArn'),
    defaultOrgId,
    orgSecretPrefix,
    workerConcurrency,
    alarmEmail: optional(node, 'alarmEmail'),
    webhookSecretName: optional(node, 'webhookSecretName'),
    webhookSecretArn: optional(node, 'webhookSecretArn'),
    retentionDays: retention,
    apiBaseUrl: optional(node, 'apiBaseUrl'),
    accountId: optional(node, 'adAccountId'),
    rulesDir: resolve(ROOT, optional(node, 'rulesDir') ?? 'rules'),
    wireProfile,
    maxChangePercent: Math.round(limit.fraction * 10_000) / 100,
  };
}

export type { ScheduleGroup };

export interface ShippedRules {
  texts: RuleText[];
  rules: LoadedRule[];
  groups: ScheduleGroup[];
  warnings: string[];
}

/** Load the rules to ship; throws RuleSynthError with one line per problem. */
export function shippedRules(rulesDir: string): ShippedRules {
  const { texts, issues } = readRuleTexts([rulesDir], ROOT);
  const loaded = loadRuleTexts(texts, issues);
  const errors = loaded.issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new RuleSynthError(`Invalid rules; fix them before deploying (npx thrad-rules validate):\n${errors.map(formatIssue).join('\n')}`);
  if (loaded.rules.length === 0) throw new RuleSynthError(`No rules found in ${rulesDir}; nothing would run.`);
  return { texts, rules: loaded.rules, groups: scheduleGroups(loaded.rules.map((r) => r.rule)), warnings: loaded.issues.filter((i) => i.severity === 'warning').map(formatIssue) };
}
