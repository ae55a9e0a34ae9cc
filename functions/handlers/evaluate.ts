// The evaluate Lambda: one EventBridge Scheduler delivery → one engine cycle for that schedule's
// rules. Dependencies are built once per container; the rule set is compiled once per cold start.
// The API key comes from Secrets Manager only (never an environment variable on AWS).
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { runSummary } from '../audit/records';
import { AuditStore } from '../audit/store';
import { Engine } from '../engine/cycle';
import { errorAttributes, type EngineLogger } from '../engine/logger';
import { ConsoleNotifier, SnsNotifier, type Notifier } from '../engine/notifier';
import { compileRuleSet } from '../rules/compile';
import { formatIssue } from '../rules/errors';
import { loadRuleTexts, readRuleTexts, type RuleText } from '../rules/validate';
import { systemClock } from '../shared/clock';
import { ThradClient } from '../thrad/client';
import { SecretsManagerApiKeyProvider } from '../thrad/keys';
import { maxChangeFractionFrom, MAX_CHANGE_PERCENT_ENV } from '../actions/limits';
import { WIRE_PROFILE_ENV, WIRE_PROFILE_NAMES, wireProfileNamed } from '../thrad/wire';
import { HandlerConfigError, InvalidSchedulerEventError, RunFailedError } from './errors';
import { parseSchedulerEvent } from './event';
import { ACTION_FAILURES_METRIC, METRICS_NAMESPACE, SERVICE_NAME } from './telemetry';

export interface HandlerResult {
  run_id: string;
  status: string;
  counts: Record<string, number>;
}

/** What tests (and other hosts) may swap: the AWS clients and the HTTP layer. */
export interface HandlerOverrides {
  env?: NodeJS.ProcessEnv;
  dynamo?: DynamoDBClient;
  secrets?: SecretsManagerClient;
  sns?: SNSClient;
  fetch?: typeof fetch;
  logger?: Logger;
  metrics?: Metrics;
}

/** Milliseconds kept back from the Lambda's remaining time to record the outcome. */
const SAFETY_MARGIN_MS = 10_000;

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

interface Runtime {
  engine: Engine;
  store: AuditStore;
  logger: Logger;
  metrics: Metrics;
}

/** Powertools Logger → the engine's logging surface. */
function engineLogger(logger: Logger): EngineLogger {
  const at = (log: (message: string, ...extra: [Record<string, unknown>] | []) => void) => (message: string, attributes?: Record<string, unknown>) => {
    if (attributes) log(message, attributes);
    else log(message);
  };
  return { debug: at(logger.debug.bind(logger)), info: at(logger.info.bind(logger)), warn: at(logger.warn.bind(logger)), error: at(logger.error.bind(logger)) };
}

function buildRuntime(overrides: HandlerOverrides): Runtime {
  const env = overrides.env ?? process.env;
  const logger = overrides.logger ?? new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
  const metrics = overrides.metrics ?? new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
  const tableName = env.AUDIT_TABLE_NAME;
  const secretId = env.THRAD_API_KEY_SECRET_ID;
  if (!tableName) throw new HandlerConfigError('AUDIT_TABLE_NAME is not set.');
  if (!secretId) throw new HandlerConfigError('THRAD_API_KEY_SECRET_ID is not set (the API key is read from Secrets Manager).');

  const wireProfile = wireProfileNamed(env[WIRE_PROFILE_ENV]);
  if (!wireProfile) throw new HandlerConfigError(`${WIRE_PROFILE_ENV} must be one of ${WIRE_PROFILE_NAMES.join(', ')} (got "${env[WIRE_PROFILE_ENV] ?? ''}").`);

  const limit = maxChangeFractionFrom(env[MAX_CHANGE_PERCENT_ENV]);
  if ('error' in limit) throw new HandlerConfigError(`${limit.error}.`);

  const loaded = loadRuleTexts(ruleTexts(env));
  for (const issue of loaded.issues) logger[issue.severity === 'error' ? 'error' : 'warn']('rule problem', { issue: formatIssue(issue) });
  const rules = compileRuleSet(loaded.rules);

  const keyProvider = new SecretsManagerApiKeyProvider({ secretId, client: overrides.secrets ?? new SecretsManagerClient({}), cacheTtlMs: Number(env.THRAD_API_KEY_CACHE_TTL_MS ?? 300_000) });
  const client = new ThradClient({
    baseUrl: env.THRAD_API_BASE_URL,
    keyProvider,
    wireProfile,
    fetch: overrides.fetch,
    onEvent: (event) => logger.debug('thrad api', { ...event }),
  });
  const dynamo = overrides.dynamo ?? new DynamoDBClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {});
  const store = new AuditStore({ tableName, client: dynamo, retentionDays: env.RETENTION_DAYS ? Number(env.RETENTION_DAYS) : undefined });
  const notifier: Notifier = env.NOTIFY_TOPIC_ARN ? new SnsNotifier(overrides.sns ?? new SNSClient({}), env.NOTIFY_TOPIC_ARN) : new ConsoleNotifier((line) => logger.info('digest', { digest: line }));
  const engine = new Engine({ client, store, rules, notifier, logger: engineLogger(logger), clock: systemClock, accountId: env.THRAD_AD_ACCOUNT_ID || undefined, maxChangeFraction: limit.fraction });
  return { engine, store, logger, metrics };
}

export function createHandler(overrides: HandlerOverrides = {}): (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<HandlerResult> {
  let runtime: Runtime | undefined;
  return async (event, context) => {
    runtime ??= buildRuntime(overrides);
    const { engine, store, logger, metrics } = runtime;
    let parsed;
    try {
      parsed = parseSchedulerEvent(event);
    } catch (error) {
      if (error instanceof InvalidSchedulerEventError) logger.error('rejected a malformed scheduler event', { problems: error.problems, request_id: context.awsRequestId });
      throw error;
    }
    const deadlineMs = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
    const scheduledMs = Date.parse(parsed.scheduled_time);
    logger.appendKeys({ schedule_id: parsed.schedule_id, scheduled_time: parsed.scheduled_time, rule_ids: parsed.rule_ids.join(',') });
    try {
      const ageMs = Date.now() - scheduledMs;
      if (ageMs > parsed.period_seconds * 1000) {
        // A delivery older than the schedule's period would act on an occurrence the next one replaces.
        const accountId = await engine.account(deadlineMs);
        const runId = `run_stale_${scheduledMs}`;
        await store.putRunSummary(
          runSummary({
            run_id: runId,
            account_id: accountId,
            schedule_id: parsed.schedule_id,
            scheduled_time: new Date(scheduledMs).toISOString(),
            started_at: new Date().toISOString(),
            status: 'skipped_stale',
            trigger: 'schedule',
            rule_ids: parsed.rule_ids,
            errors: [{ rule_id: null, code: 'stale_event', message: `Delivered ${Math.round(ageMs / 1000)} s after its scheduled time, more than the schedule's period of ${parsed.period_seconds} s; skipped` }],
            expires_at: store.expiresAt(),
          }),
        );
        logger.warn('skipped a stale delivery', { age_seconds: Math.round(ageMs / 1000), period_seconds: parsed.period_seconds });
        metrics.addMetric('StaleDeliveries', MetricUnit.Count, 1);
        return { run_id: runId, status: 'skipped_stale', counts: {} };
      }
      const { summary } = await engine.runCycle({ ruleIds: parsed.rule_ids, scheduledTime: scheduledMs, scheduleId: parsed.schedule_id, deadlineMs, trigger: 'schedule' });
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
      // A run that could not work is an error: the delivery is retried (the occurrence is taken
      // over) and the function-errors alarm sees it.
      if (summary.status === 'failed') throw new RunFailedError(summary.run_id, summary.errors);
      return { run_id: summary.run_id, status: summary.status, counts: summary.counts };
    } catch (error) {
      logger.error('run failed', errorAttributes(error));
      metrics.addMetric('RunFailures', MetricUnit.Count, 1);
      throw error;
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}

export const handler = createHandler();
