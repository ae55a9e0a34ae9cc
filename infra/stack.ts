// The autopilot on AWS, one stack: the audit table (which also holds the registry of
// organizations), one EventBridge Scheduler schedule every minute invoking the planner, an SQS
// FIFO tick queue (one message per org per tick, grouped by org) with its FIFO dead-letter queue,
// the worker consuming it (one cycle per org per tick, at most `workerConcurrency` at once), a
// dead-letter queue for the schedule and the planner, an SNS topic for notifications and alarms,
// the webhook's secret when one is given, and CloudWatch alarms (one "rule did not run" alarm per
// schedule group).
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { MAX_CHANGE_PERCENT_ENV } from '../functions/actions/limits';
import { schedulerInputTemplate } from '../functions/handlers/event';
import { ACTION_FAILURES_METRIC, COMPLETED_RUNS_METRIC, METRICS_NAMESPACE, RUN_FAILURES_METRIC, SCHEDULE_DIMENSION, SERVICE_NAME, UNPLANNED_ORGS_METRIC } from '../functions/handlers/telemetry';
import { scheduleLongestGapSeconds } from '../functions/rules/schedule';
import { TICK_SECONDS } from '../functions/orgs/plan';
import { WIRE_PROFILE_ENV } from '../functions/thrad/wire';
import type { AutopilotConfig, ShippedRules } from './config';
import { AuditTable } from './constructs/audit-table';
import { AutopilotFunction } from './constructs/autopilot-function';

export interface AutopilotStackProps extends StackProps {
  config: AutopilotConfig;
  rules: ShippedRules;
}

/** Retries the schedule may make when it cannot invoke the planner (throttling). */
export const SCHEDULE_RETRY_ATTEMPTS = 2;
/**
 * How long a planner invocation may be retried: Lambda retries an async invocation after about 1
 * and 3 minutes; inside SQS's 5-minute deduplication window, a retry never sends a second run.
 */
export const PLANNER_MAX_EVENT_AGE_SECONDS = 240;
/** Receives of a tick message before it goes to the tick dead-letter queue. */
export const TICK_MAX_RECEIVES = 3;
/** AWS's guidance for an SQS event source: the visibility timeout at least 6 × the function's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** The tick queue alarms when its oldest message waits longer than two ticks. */
export const QUEUE_AGE_ALARM_SECONDS = 2 * TICK_SECONDS;
/** A schedule group alarms after this many of its periods without a completed run. */
export const DID_NOT_RUN_PERIODS = 2;
/**
 * CloudWatch evaluates at most 7 days (1 day for periods under an hour): a schedule whose longest
 * gap is longer than this gets no "did not run" alarm.
 */
export const DID_NOT_RUN_MAX_PERIOD_SECONDS = 604_800 / DID_NOT_RUN_PERIODS;

/** The "rule did not run" alarm's period for a schedule group, or null when CloudWatch cannot watch it. */
export function didNotRunPeriodSeconds(group: ShippedRules['groups'][number]): number | null {
  const gap = scheduleLongestGapSeconds(group.schedule, group.timezone);
  const period = Math.ceil(gap / 60) * 60;
  return period > DID_NOT_RUN_MAX_PERIOD_SECONDS ? null : period;
}

export class AutopilotStack extends Stack {
  readonly table: AuditTable;
  readonly planner: AutopilotFunction;
  readonly worker: AutopilotFunction;
  readonly topic: Topic;
  /** The schedule's and the planner's dead-letter queue. */
  readonly deadLetterQueue: Queue;
  readonly tickQueue: Queue;
  readonly tickDeadLetterQueue: Queue;
  /** The single-account deployment's secret, served as the default org (null without secretName/secretArn). */
  readonly defaultOrgSecret: ISecret | null;
  /** The webhook URL's secret (null without webhookSecretName/webhookSecretArn). */
  readonly webhookSecret: ISecret | null;
  /** Per schedule group id: its "rule did not run" alarm (absent for a group CloudWatch cannot watch). */
  readonly didNotRunAlarms = new Map<string, Alarm>();
  private readonly secretImportedByName: string | undefined;
  private readonly webhookSecretImportedByName: string | undefined;

  constructor(scope: Construct, id: string, props: AutopilotStackProps) {
    super(scope, id, props);
    const { config, rules } = props;

    this.table = new AuditTable(this, 'Audit');

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.topic = new Topic(this, 'Notifications', {
      displayName: 'Thrad autopilot',
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new EmailSubscription(config.alarmEmail));

    // The single-account path: the secret given at deploy is the default org's key.
    let defaultOrg: { org_id: string; api_key_secret_id: string; ad_account_id?: string } | null = null;
    if (config.secretArn) {
      this.defaultOrgSecret = Secret.fromSecretCompleteArn(this, 'ApiKey', config.secretArn);
      defaultOrg = { org_id: config.defaultOrgId, api_key_secret_id: config.secretArn };
    } else if (config.secretName) {
      this.defaultOrgSecret = Secret.fromSecretNameV2(this, 'ApiKey', config.secretName);
      defaultOrg = { org_id: config.defaultOrgId, api_key_secret_id: config.secretName };
      this.secretImportedByName = config.secretName;
    } else {
      this.defaultOrgSecret = null;
    }
    if (defaultOrg && config.accountId) defaultOrg.ad_account_id = config.accountId;

    // A cycle should end before the next occurrence of the most frequent schedule.
    const shortestPeriod = Math.min(...rules.groups.map((g) => g.periodSeconds));
    const workerTimeout = Duration.seconds(Math.max(60, Math.min(300, shortestPeriod)));

    this.tickDeadLetterQueue = new Queue(this, 'TickDeadLetters', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.tickQueue = new Queue(this, 'Ticks', {
      fifo: true,
      // The planner sets MessageDeduplicationId = org_id#tick; the body must not decide.
      contentBasedDeduplication: false,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      // A tick older than its rules' period is only recorded as skipped; a day keeps those records.
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.tickDeadLetterQueue, maxReceiveCount: TICK_MAX_RECEIVES },
    });

    this.worker = new AutopilotFunction(this, 'Worker', {
      entry: 'worker',
      description: 'Runs one cycle of the Thrad autopilot rules due at a tick, for one organization',
      ruleTexts: rules.texts,
      timeout: workerTimeout,
      memorySize: 512,
      environment: {
        RETENTION_DAYS: String(config.retentionDays),
        STAGE: config.stage,
        [WIRE_PROFILE_ENV]: config.wireProfile,
        [MAX_CHANGE_PERCENT_ENV]: String(config.maxChangePercent),
        ...(config.apiBaseUrl ? { THRAD_API_BASE_URL: config.apiBaseUrl } : {}),
      },
    });
    this.worker.bindTable(this.table.table);
    this.worker.bindOrgSecrets(config.orgSecretPrefix);
    if (defaultOrg) this.worker.bindDefaultOrg(defaultOrg, this.defaultOrgSecret);
    this.worker.bindTopic(this.topic);
    if (config.webhookSecretArn) {
      this.webhookSecret = Secret.fromSecretCompleteArn(this, 'WebhookUrl', config.webhookSecretArn);
      this.worker.bindWebhookSecret(config.webhookSecretArn, this.webhookSecret);
    } else if (config.webhookSecretName) {
      this.webhookSecret = Secret.fromSecretNameV2(this, 'WebhookUrl', config.webhookSecretName);
      this.worker.bindWebhookSecret(config.webhookSecretName, this.webhookSecret);
      this.webhookSecretImportedByName = config.webhookSecretName;
    } else {
      this.webhookSecret = null;
    }
    // One message per invocation: each cycle gets the whole timeout; FIFO order holds per org.
    this.worker.fn.addEventSource(new SqsEventSource(this.tickQueue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: config.workerConcurrency }));

    this.planner = new AutopilotFunction(this, 'Planner', {
      entry: 'planner',
      description: 'Plans each minute which Thrad autopilot rules are due for each organization and queues one tick per organization',
      ruleTexts: rules.texts,
      timeout: Duration.seconds(TICK_SECONDS),
      memorySize: 256,
      environment: { STAGE: config.stage },
      async: { deadLetterQueue: this.deadLetterQueue, retryAttempts: 2, maxEventAge: Duration.seconds(PLANNER_MAX_EVENT_AGE_SECONDS) },
    });
    this.planner.bindRegistryReader(this.table.table);
    this.planner.bindQueueSender(this.tickQueue);
    this.planner.bindSecretNames(config.orgSecretPrefix, defaultOrg);

    const schedulerRole = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com'), description: 'Lets EventBridge Scheduler invoke the planner function' });
    schedulerRole.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.planner.fn.functionArn] }));
    schedulerRole.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));

    new CfnSchedule(this, 'Tick', {
      description: 'Thrad autopilot: the tick; the planner works out which rules are due for which organization',
      scheduleExpression: `rate(${TICK_SECONDS / 60} minute)`,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.planner.fn.functionArn,
        roleArn: schedulerRole.roleArn,
        input: schedulerInputTemplate(),
        retryPolicy: { maximumEventAgeInSeconds: PLANNER_MAX_EVENT_AGE_SECONDS, maximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });

    const alarm = (alarmId: string, metric: IMetric, description: string, threshold = 1, comparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD): void => {
      new Alarm(this, alarmId, { metric, threshold, evaluationPeriods: 1, comparisonOperator, treatMissingData: TreatMissingData.NOT_BREACHING, alarmDescription: description }).addAlarmAction(new SnsAction(this.topic));
    };
    const custom = (metricName: string): Metric => new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic: 'Sum', period: Duration.minutes(5) });
    alarm('FunctionErrorsAlarm', this.worker.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 'The worker function crashed or timed out (not a failed org tick: see RunFailures). Check its logs; the tick is retried, then dead-lettered.');
    alarm('PlannerErrorsAlarm', this.planner.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 'The planner failed (the registry unreadable, or ticks it could not send). Check its logs by tick; Lambda retries it, then the dead-letter queue keeps the event.');
    alarm('RunFailuresAlarm', custom(RUN_FAILURES_METRIC), "An organization's tick failed (its key refused, its API or the table unreachable). The worker's logs name the org; the tick is retried, then dead-lettered.");
    alarm('UnplannedOrgsAlarm', custom(UNPLANNED_ORGS_METRIC), 'A registry entry cannot be served (invalid, or its secret is outside the prefix). The planner logs name it; fix it with `thrad-rules orgs`.');
    alarm('QueueAgeAlarm', this.tickQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }), `A tick waited more than ${QUEUE_AGE_ALARM_SECONDS} s for a worker: raise workerConcurrency, or look for an org whose cycles are slow or failing.`, QUEUE_AGE_ALARM_SECONDS, ComparisonOperator.GREATER_THAN_THRESHOLD);
    alarm('DeadLettersAlarm', this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 'Ticks the schedule or the planner gave up on are in the dead-letter queue. Inspect the messages, fix the cause, then purge the queue.');
    alarm('TickDeadLettersAlarm', this.tickDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), "Org ticks the worker gave up on are in the tick dead-letter queue (each names its org_id). Fix the org's cause, then purge the queue; later ticks run normally.");
    alarm('ActionFailuresAlarm', custom(ACTION_FAILURES_METRIC), 'A status call to the Thrad API failed. `thrad-rules audit --outcome failed` lists them with the API error.');
    // "Rule did not run": per schedule group, fewer than one completed run in two of its periods (no data counts: nothing ran).
    for (const group of rules.groups) {
      const periodSeconds = didNotRunPeriodSeconds(group);
      if (periodSeconds === null) continue;
      const metric = new Metric({ namespace: METRICS_NAMESPACE, metricName: COMPLETED_RUNS_METRIC, dimensionsMap: { service: SERVICE_NAME, [SCHEDULE_DIMENSION]: group.id }, statistic: 'Sum', period: Duration.seconds(periodSeconds) });
      const didNotRun = new Alarm(this, `RuleDidNotRun-${group.id}`, {
        metric,
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: DID_NOT_RUN_PERIODS,
        treatMissingData: TreatMissingData.BREACHING,
        alarmDescription: `Rule did not run: ${group.ruleIds.join(', ')} (${group.expression}, ${group.timezone}) had no completed run for ${DID_NOT_RUN_PERIODS} periods of ${periodSeconds} s. Look for failed org ticks (RunFailures), the planner's and the worker's errors, or disabled orgs; \`thrad-rules audit\` lists the runs.`.slice(0, 1024),
      });
      didNotRun.addAlarmAction(new SnsAction(this.topic));
      this.didNotRunAlarms.set(group.id, didNotRun);
    }

    new CfnOutput(this, 'AuditTableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'OrgSecretPrefix', { value: config.orgSecretPrefix });
    if (defaultOrg) new CfnOutput(this, 'DefaultOrgSecret', { value: defaultOrg.api_key_secret_id });
    new CfnOutput(this, 'NotificationsTopic', { value: this.topic.topicArn });
    new CfnOutput(this, 'TickQueueUrl', { value: this.tickQueue.queueUrl });
    new CfnOutput(this, 'TickDeadLetterQueueUrl', { value: this.tickDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'PlannerFunctionName', { value: this.planner.fn.functionName });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.worker.fn.functionName });

    this.acknowledge(config);
  }

  /** cdk-nag findings that are deliberate, each with its reason. */
  private acknowledge(config: AutopilotConfig): void {
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the schedule and the planner; it needs none of its own.' });
    Validations.of(this.tickDeadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the tick queue; it needs none of its own.' });
    for (const fn of [this.worker, this.planner]) Validations.of(fn).acknowledge({ id: 'AwsSolutions-L1', reason: 'Node.js 22 is pinned on purpose: the toolchain and AWS SDK pins of this project target Node 22 (see TOOLCHAIN).' });
    const tableId = this.getLogicalId(this.table.table.node.defaultChild as CfnTable);
    Validations.of(this.worker.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`, reason: 'The indexes of the one audit table (its access paths); no action is wildcarded.' });
    Validations.of(this.worker.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${config.orgSecretPrefix}*]`, reason: 'Each registered organization has its own key secret; the worker may read only those named with the deployment\'s prefix (context orgSecretPrefix), and only GetSecretValue.' });
    if (this.webhookSecretImportedByName) {
      Validations.of(this.worker.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.webhookSecretImportedByName}-??????]`, reason: 'The webhook URL secret imported by name has a random 6-character suffix in its ARN; the wildcard matches only that.' });
    }
    if (this.secretImportedByName) {
      Validations.of(this.worker.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.secretImportedByName}-??????]`, reason: 'A secret imported by name has a random 6-character suffix in its ARN; the wildcard matches only that.' });
    }
  }
}
