// What the planner and the worker Lambdas build once per container, in one place: the Powertools
// logger and metrics, the audit table (store and DynamoDB client), the bundled rule set, the
// deployment's default org, and the metrics of a finished cycle. The API key never passes through
// here: each org's key is read from its own Secrets Manager secret by the worker.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { auditDynamoClient } from '../audit/client';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import type { RunSummary } from '../audit/records';
import { AuditStore } from '../audit/store';
import type { EngineLogger } from '../engine/logger';
import { orgEntrySchema, type OrgEntry } from '../orgs/schema';
import { TableOrgRegistry } from '../orgs/table';
import { formatIssue } from '../rules/errors';
import { loadRuleTexts, readRuleTexts, type LoadedRule, type RuleText } from '../rules/validate';
import { describeIssues } from '../shared/issues';
import { systemClock, type Clock, type Sleep } from '../shared/clock';
import type { ScheduleGroup } from '../rules/groups';
import { rulesServed } from '../engine/served';
import { ACTION_FAILURES_METRIC, COMPLETED_RUNS_METRIC, DEFAULT_ORG_ENV, METRICS_NAMESPACE, NOTIFICATION_FAILURES_METRIC, ORG_SECRET_PREFIX_ENV, SCHEDULE_DIMENSION, SERVICE_NAME } from './telemetry';
import { HandlerConfigError } from './errors';

/** What tests (and other hosts) may swap: the AWS clients, the HTTP layer, the clock. */
export interface HandlerOverrides {
  env?: NodeJS.ProcessEnv;
  dynamo?: DynamoDBClient;
  secrets?: SecretsManagerClient;
  sns?: SNSClient;
  sqs?: SQSClient;
  fetch?: typeof fetch;
  /** The webhook's HTTP layer (default: the global fetch). */
  webhookFetch?: typeof fetch;
  logger?: Logger;
  metrics?: Metrics;
  /** The engine clock: ticks' staleness, windows, record times (default: the system clock). */
  clock?: Clock;
  /** Waits between send retries (default: real time). */
  sleep?: Sleep;
}

/** The Lambda context the handlers read. */
export type HandlerContext = { getRemainingTimeInMillis(): number; awsRequestId: string };

/** Milliseconds kept back from the Lambda's remaining time to record the outcome. */
export const SAFETY_MARGIN_MS = 10_000;


const ruleTextsSchema = z.array(z.object({ file: z.string(), text: z.string() }));

/** Rules bundled at synth (THRAD_RULES_JSON, inlined by esbuild), or read from RULES_DIR. */
function ruleTexts(env: NodeJS.ProcessEnv): RuleText[] {
  // Kept as a literal `process.env.THRAD_RULES_JSON` so the bundler's `define` can replace it.
  const bundled = process.env.THRAD_RULES_JSON ?? env.THRAD_RULES_JSON;
  if (bundled !== undefined && bundled !== '') return ruleTextsSchema.parse(JSON.parse(bundled));
  const dir = env.RULES_DIR;
  if (!dir) throw new HandlerConfigError('No rules: neither a bundled rule set nor RULES_DIR.');
  return readRuleTexts([dir], dir).texts;
}

/** The deployment's rules, validated (problems logged); the same set for every org, narrowed by its rule_ids. */
export function bundledRules(env: NodeJS.ProcessEnv, logger: Logger): LoadedRule[] {
  const loaded = loadRuleTexts(ruleTexts(env));
  for (const issue of loaded.issues) logger[issue.severity === 'error' ? 'error' : 'warn']('rule problem', { issue: formatIssue(issue) });
  return loaded.rules;
}

/** Powertools Logger → the engine's logging surface. */
export function engineLogger(logger: Logger): EngineLogger {
  const at = (log: (message: string, ...extra: [Record<string, unknown>] | []) => void) => (message: string, attributes?: Record<string, unknown>) => {
    if (attributes) log(message, attributes);
    else log(message);
  };
  return { debug: at(logger.debug.bind(logger)), info: at(logger.info.bind(logger)), warn: at(logger.warn.bind(logger)), error: at(logger.error.bind(logger)) };
}

export interface BaseRuntime {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  dynamo: DynamoDBClient;
  store: AuditStore;
  registry: TableOrgRegistry;
  /** The deployment's default org, when it was deployed with a single secret (secretName/secretArn). */
  defaultOrg: OrgEntry | null;
  /** Registered orgs' secrets must start with this (null: not checked). */
  secretPrefix: string | null;
}

export function baseRuntime(overrides: HandlerOverrides): BaseRuntime {
  const env = overrides.env ?? process.env;
  const logger = overrides.logger ?? new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
  const metrics = overrides.metrics ?? new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
  const tableName = env.AUDIT_TABLE_NAME;
  if (!tableName) throw new HandlerConfigError('AUDIT_TABLE_NAME is not set.');
  const clock = overrides.clock ?? systemClock;
  const dynamo = overrides.dynamo ?? auditDynamoClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {});
  const store = new AuditStore({ tableName, client: dynamo, clock, retentionDays: env.RETENTION_DAYS ? Number(env.RETENTION_DAYS) : undefined });
  const registry = new TableOrgRegistry({ tableName, client: dynamo, clock });
  const prefix = env[ORG_SECRET_PREFIX_ENV]?.trim();
  return { env, logger, metrics, clock, dynamo, store, registry, defaultOrg: defaultOrgFrom(env), secretPrefix: prefix ? prefix : null };
}

function defaultOrgFrom(env: NodeJS.ProcessEnv): OrgEntry | null {
  const raw = env[DEFAULT_ORG_ENV];
  if (raw === undefined || raw.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HandlerConfigError(`${DEFAULT_ORG_ENV} is not JSON.`);
  }
  const parsed = orgEntrySchema.safeParse(value);
  if (!parsed.success) throw new HandlerConfigError(`${DEFAULT_ORG_ENV}: ${describeIssues(parsed.error.issues, { root: '(org)' }).join('; ')}.`);
  if (parsed.data.api_key_secret_id === undefined) throw new HandlerConfigError(`${DEFAULT_ORG_ENV}: the default org's key must be in a secret (api_key_secret_id).`);
  return parsed.data;
}

/** Why a registered org cannot be served here (its secret outside the prefix), or null. */
export function secretOutsidePrefix(org: OrgEntry, runtime: Pick<BaseRuntime, 'secretPrefix' | 'defaultOrg'>): string | null {
  if (runtime.secretPrefix === null || org.api_key_secret_id === undefined) return null;
  if (runtime.defaultOrg !== null && org.api_key_secret_id === runtime.defaultOrg.api_key_secret_id) return null;
  if (org.api_key_secret_id.startsWith(runtime.secretPrefix)) return null;
  return `api_key_secret_id: "${org.api_key_secret_id}" is not under the deployment's prefix "${runtime.secretPrefix}" (the worker may read only those secrets; context orgSecretPrefix)`;
}

/** The metrics of one finished cycle (the ActionFailures alarm reads one of them). */
export function publishCycleMetrics(metrics: Metrics, summary: RunSummary): void {
  const c = summary.counts;
  const evaluated = Object.values(summary.per_rule).reduce((sum, r) => sum + (r.evaluated ?? 0), 0);
  metrics.addMetric('RulesEvaluated', MetricUnit.Count, summary.rule_ids.length);
  metrics.addMetric('Evaluations', MetricUnit.Count, evaluated);
  metrics.addMetric('Matches', MetricUnit.Count, evaluated - (c.no_match ?? 0) - (c.insufficient_data ?? 0));
  metrics.addMetric('Actions', MetricUnit.Count, c.acted ?? 0);
  metrics.addMetric(ACTION_FAILURES_METRIC, MetricUnit.Count, c.failed ?? 0);
  metrics.addMetric('InsufficientData', MetricUnit.Count, c.insufficient_data ?? 0);
  metrics.addMetric('DataUnavailable', MetricUnit.Count, c.data_unavailable ?? 0);
  metrics.addMetric('ApiRequests', MetricUnit.Count, summary.api_requests);
  metrics.addMetric('RunDuration', MetricUnit.Milliseconds, summary.duration_ms);
  metrics.addMetric(NOTIFICATION_FAILURES_METRIC, MetricUnit.Count, summary.notifications.filter((n) => n.status === 'failed').length);
}

/**
 * A completed run counts for every schedule group it served rules of (rules that read their data:
 * a run whose rules all ended data_unavailable did not look at spend): one CompletedRuns datum per
 * group, with the group id as its `schedule` dimension (each alarm watches one group). Emitted at
 * once, apart from the run's other metrics, because its dimensions differ.
 */
export function publishCompletedRuns(metrics: Metrics, summary: RunSummary, groups: readonly ScheduleGroup[]): void {
  const ran = new Set(rulesServed(summary));
  for (const group of groups) {
    if (!group.ruleIds.some((id) => ran.has(id))) continue;
    const single = metrics.singleMetric();
    single.addDimension(SCHEDULE_DIMENSION, group.id);
    single.addMetric(COMPLETED_RUNS_METRIC, MetricUnit.Count, 1);
  }
}
