// The autopilot on AWS, one stack: the audit table, the API key secret, the evaluate function,
// one EventBridge Scheduler schedule per distinct (expression, time zone) of the shipped rules,
// a dead-letter queue, an SNS topic for notifications and alarms, and CloudWatch alarms.
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { schedulerInputTemplate } from '../functions/handlers/event';
import { ACTION_FAILURES_METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../functions/handlers/telemetry';
import type { AutopilotConfig, ShippedRules } from './config';
import { AuditTable } from './constructs/audit-table';
import { EvaluateFunction } from './constructs/evaluate-function';
import { MAX_CHANGE_PERCENT_ENV } from '../functions/actions/limits';
import { WIRE_PROFILE_ENV } from '../functions/thrad/wire';

export interface AutopilotStackProps extends StackProps {
  config: AutopilotConfig;
  rules: ShippedRules;
}

/** Retries a schedule may make: bounded so a delivery never outlives its occurrence. */
export const SCHEDULE_RETRY_ATTEMPTS = 2;

export class AutopilotStack extends Stack {
  readonly table: AuditTable;
  readonly evaluate: EvaluateFunction;
  readonly topic: Topic;
  readonly deadLetterQueue: Queue;
  readonly secret: ISecret;
  private readonly secretImportedByName: string | undefined;

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

    let secretId: string;
    if (config.secretArn) {
      this.secret = Secret.fromSecretCompleteArn(this, 'ApiKey', config.secretArn);
      secretId = config.secretArn;
    } else if (config.secretName) {
      this.secret = Secret.fromSecretNameV2(this, 'ApiKey', config.secretName);
      secretId = config.secretName;
      this.secretImportedByName = config.secretName;
    } else {
      // Created without a key: put it in with `aws secretsmanager put-secret-value` (README).
      const created = new Secret(this, 'ApiKey', {
        description: 'Thrad Advertiser API key (ak_...) for the autopilot; put the key in after the first deploy',
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ api_key: '' })),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.secret = created;
      secretId = created.secretArn;
      Validations.of(created).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The Thrad API key is rotated in the Thrad dashboard (Settings → API keys), not by Secrets Manager; the function re-reads the secret on 401.' });
    }

    const shortestPeriod = Math.min(...rules.groups.map((g) => g.periodSeconds));
    this.evaluate = new EvaluateFunction(this, 'Evaluate', {
      ruleTexts: rules.texts,
      deadLetterQueue: this.deadLetterQueue,
      // A cycle must end before the next occurrence of the most frequent schedule.
      timeout: Duration.seconds(Math.max(60, Math.min(300, shortestPeriod))),
      environment: {
        RETENTION_DAYS: String(config.retentionDays),
        STAGE: config.stage,
        [WIRE_PROFILE_ENV]: config.wireProfile,
        [MAX_CHANGE_PERCENT_ENV]: String(config.maxChangePercent),
        ...(config.apiBaseUrl ? { THRAD_API_BASE_URL: config.apiBaseUrl } : {}),
        ...(config.accountId ? { THRAD_AD_ACCOUNT_ID: config.accountId } : {}),
      },
    });
    this.evaluate.bindTable(this.table.table);
    this.evaluate.bindSecret(this.secret, secretId);
    this.evaluate.bindTopic(this.topic);

    const schedulerRole = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com'), description: 'Lets EventBridge Scheduler invoke the evaluate function' });
    schedulerRole.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.evaluate.fn.functionArn] }));
    schedulerRole.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));

    for (const group of rules.groups) {
      new CfnSchedule(this, `Schedule-${group.id}`, {
        description: `Thrad autopilot: ${group.ruleIds.join(', ')}`.slice(0, 512),
        scheduleExpression: group.expression,
        scheduleExpressionTimezone: group.timezone,
        flexibleTimeWindow: { mode: 'OFF' },
        state: 'ENABLED',
        target: {
          arn: this.evaluate.fn.functionArn,
          roleArn: schedulerRole.roleArn,
          input: schedulerInputTemplate(group.id, group.ruleIds, group.periodSeconds),
          retryPolicy: {
            // Never deliver an occurrence after the next one is due.
            maximumEventAgeInSeconds: Math.max(60, Math.min(86_400, group.periodSeconds)),
            maximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS,
          },
          deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        },
      });
    }

    const alarm = (id: string, metric: Metric, description: string): void => {
      new Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      }).addAlarmAction(new SnsAction(this.topic));
    };
    alarm('FunctionErrorsAlarm', this.evaluate.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 'The evaluate function failed (a run threw). Check its logs by run_id; the schedule retries, then the dead-letter queue keeps the event.');
    alarm('DeadLettersAlarm', this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 'Scheduled runs were given up on and are in the dead-letter queue. Inspect the messages, fix the cause, then purge the queue.');
    alarm(
      'ActionFailuresAlarm',
      new Metric({ namespace: METRICS_NAMESPACE, metricName: ACTION_FAILURES_METRIC, dimensionsMap: { service: SERVICE_NAME }, statistic: 'Sum', period: Duration.minutes(5) }),
      'A status call to the Thrad API failed. `thrad-rules audit --outcome failed` lists them with the API error.',
    );

    new CfnOutput(this, 'AuditTableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'ApiKeySecret', { value: secretId });
    new CfnOutput(this, 'NotificationsTopic', { value: this.topic.topicArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'EvaluateFunctionName', { value: this.evaluate.fn.functionName });

    this.acknowledge();
  }

  /** cdk-nag findings that are deliberate, each with its reason. */
  private acknowledge(): void {
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the schedules and the function; it needs none of its own.' });
    Validations.of(this.evaluate).acknowledge({ id: 'AwsSolutions-L1', reason: 'Node.js 22 is pinned on purpose: the toolchain and AWS SDK pins of this project target Node 22 (see TOOLCHAIN).' });
    const tableId = this.getLogicalId(this.table.table.node.defaultChild as CfnTable);
    Validations.of(this.evaluate.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`, reason: 'The indexes of the one audit table (its access paths); no action is wildcarded.' });
    if (this.secretImportedByName) {
      Validations.of(this.evaluate.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.secretImportedByName}-??????]`, reason: 'A secret imported by name has a random 6-character suffix in its ARN; the wildcard matches only that.' });
    }
  }
}
