// The house function construct: runtime, architecture, bundling (local esbuild, never Docker),
// log retention and a role with exactly the permissions bound to it. `bind*` helpers set an
// environment variable and its least-privilege grant together. The planner and the worker are both
// built with it.
import type { Duration } from 'aws-cdk-lib';
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INDEXES } from '../../functions/audit/table';
import { DEFAULT_ORG_ENV, METRICS_NAMESPACE, ORG_SECRET_PREFIX_ENV, SERVICE_NAME } from '../../functions/handlers/telemetry';
import { WEBHOOK_SECRET_ENV } from '../../functions/notify/webhook';
import type { RuleText } from '../../functions/rules/validate';
import { ROOT } from '../config';

/** The functions' entry points. */
export const FUNCTION_ENTRIES = {
  planner: `${ROOT}/functions/handlers/planner.ts`,
  worker: `${ROOT}/functions/handlers/worker.ts`,
} as const;
export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/**
 * How the functions are bundled (shared with `npm run bench` and the bundle test, which build the
 * same bundle): the Node 22 runtime ships the AWS SDK v3; the rest is bundled.
 */
export const FUNCTION_BUNDLE = {
  target: 'node22',
  minify: true,
  sourceMap: true,
  externalModules: ['@aws-sdk/*'],
  /** The rule set travels inside the bundle, validated at synth. */
  define: (ruleTexts: readonly RuleText[]): Record<string, string> => ({ 'process.env.THRAD_RULES_JSON': JSON.stringify(JSON.stringify(ruleTexts)) }),
} as const;

/** DynamoDB actions the engine uses: single-item conditional writes, queries, batch reads and writes. */
export const AUDIT_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];

/**
 * A secret ARN pattern in this stack's account and region, always written with the pseudo
 * parameters (also when the stack's environment is known), so the IAM resource and its cdk-nag
 * acknowledgment read the same everywhere.
 */
export function secretArnPattern(namePattern: string): string {
  return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${namePattern}`;
}

export interface AutopilotFunctionProps {
  entry: FunctionName;
  description: string;
  ruleTexts: readonly RuleText[];
  timeout: Duration;
  memorySize: number;
  environment?: Record<string, string>;
  /** For an asynchronously invoked function: its retries and where it sends what it gives up on. */
  async?: { deadLetterQueue: IQueue; retryAttempts: number; maxEventAge: Duration };
}

export class AutopilotFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: AutopilotFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `Thrad autopilot ${props.entry} function` });
    // Logging without AWSLambdaBasicExecutionRole: only this function's log group.
    this.role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    this.fn = new NodejsFunction(this, 'Function', {
      entry: FUNCTION_ENTRIES[props.entry],
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}/package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      description: props.description,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        minify: FUNCTION_BUNDLE.minify,
        sourceMap: FUNCTION_BUNDLE.sourceMap,
        sourcesContent: false,
        target: FUNCTION_BUNDLE.target,
        format: OutputFormat.CJS,
        externalModules: [...FUNCTION_BUNDLE.externalModules],
        define: FUNCTION_BUNDLE.define(props.ruleTexts),
        forceDockerBundling: false,
      },
      ...(props.async ? { retryAttempts: props.async.retryAttempts, maxEventAge: props.async.maxEventAge, onFailure: new SqsDestination(props.async.deadLetterQueue) } : {}),
    });
  }

  private env(name: string, value: string): void {
    this.fn.addEnvironment(name, value);
  }

  /** The engine's use of the audit table: every access path it reads and writes. */
  bindTable(table: ITable): void {
    this.env('AUDIT_TABLE_NAME', table.tableName);
    this.role.addToPolicy(new PolicyStatement({ actions: AUDIT_TABLE_ACTIONS, resources: [table.tableArn, `${table.tableArn}/index/*`] }));
  }

  /** Listing the registry of organizations: one index, Query only. */
  bindRegistryReader(table: ITable): void {
    this.env('AUDIT_TABLE_NAME', table.tableName);
    this.role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${INDEXES.byTime.name}`] }));
  }

  /** Sending ticks to the queue (SendMessageBatch is authorized as sqs:SendMessage). */
  bindQueueSender(queue: IQueue): void {
    this.env('TICK_QUEUE_URL', queue.queueUrl);
    this.role.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  }

  /** Reading the keys of registered orgs: only secrets whose name starts with the prefix. */
  bindOrgSecrets(prefix: string): string {
    this.env(ORG_SECRET_PREFIX_ENV, prefix);
    const arn = secretArnPattern(`${prefix}*`);
    this.role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [arn] }));
    return arn;
  }

  /** The deployment's default org (its own secret, wherever its name is). */
  bindDefaultOrg(org: { org_id: string; api_key_secret_id: string; ad_account_id?: string }, secret: ISecret | null): void {
    this.env(DEFAULT_ORG_ENV, JSON.stringify(org));
    // A secret imported by name has a random 6-character suffix in its ARN.
    if (secret) this.role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretFullArn ?? secretArnPattern(`${org.api_key_secret_id}-??????`)] }));
  }

  /** Only the prefix check of the default org, for a function that reads no secret. */
  bindSecretNames(prefix: string, org: { org_id: string; api_key_secret_id: string; ad_account_id?: string } | null): void {
    this.env(ORG_SECRET_PREFIX_ENV, prefix);
    if (org) this.env(DEFAULT_ORG_ENV, JSON.stringify(org));
  }

  /** The webhook's address, read from its one secret (by name: the random suffix of its ARN). */
  bindWebhookSecret(secretId: string, secret: ISecret): void {
    this.env(WEBHOOK_SECRET_ENV, secretId);
    this.role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretFullArn ?? secretArnPattern(`${secretId}-??????`)] }));
  }

  bindTopic(topic: ITopic): void {
    this.env('NOTIFY_TOPIC_ARN', topic.topicArn);
    this.role.addToPolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
  }
}
