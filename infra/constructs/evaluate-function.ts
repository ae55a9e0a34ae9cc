// The house function construct: runtime, architecture, bundling (local esbuild, never Docker),
// log retention and a role with exactly the permissions bound to it. `bind*` helpers set an
// environment variable and its least-privilege grant together.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/handlers/telemetry';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RuleText } from '../../functions/rules/validate';
import { ROOT } from '../config';

export interface EvaluateFunctionProps {
  ruleTexts: readonly RuleText[];
  deadLetterQueue: IQueue;
  timeout: Duration;
  environment?: Record<string, string>;
}

/**
 * How the evaluate function is bundled (shared with `npm run bench`, which builds the same bundle
 * to measure its size and cold load): the Node 22 runtime ships the AWS SDK v3; the rest is bundled.
 */
export const EVALUATE_BUNDLE = {
  entry: `${ROOT}/functions/handlers/evaluate.ts`,
  target: 'node22',
  minify: true,
  sourceMap: true,
  externalModules: ['@aws-sdk/*'],
  /** The rule set travels inside the bundle, validated at synth. */
  define: (ruleTexts: readonly RuleText[]): Record<string, string> => ({ 'process.env.THRAD_RULES_JSON': JSON.stringify(JSON.stringify(ruleTexts)) }),
} as const;

/** DynamoDB actions the engine uses: single-item conditional writes, queries, batch reads and writes. */
export const AUDIT_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];

export class EvaluateFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: EvaluateFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: 'Thrad autopilot evaluate function' });
    // Logging without AWSLambdaBasicExecutionRole: only this function's log group.
    this.role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    this.fn = new NodejsFunction(this, 'Function', {
      entry: EVALUATE_BUNDLE.entry,
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}/package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      description: 'Evaluates the Thrad autopilot rules of one schedule and acts on campaigns',
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        minify: EVALUATE_BUNDLE.minify,
        sourceMap: EVALUATE_BUNDLE.sourceMap,
        sourcesContent: false,
        target: EVALUATE_BUNDLE.target,
        format: OutputFormat.CJS,
        externalModules: [...EVALUATE_BUNDLE.externalModules],
        define: EVALUATE_BUNDLE.define(props.ruleTexts),
        forceDockerBundling: false,
      },
      retryAttempts: 1,
      maxEventAge: Duration.minutes(15),
      onFailure: new SqsDestination(props.deadLetterQueue),
    });
  }

  private env(name: string, value: string): void {
    this.fn.addEnvironment(name, value);
  }

  bindTable(table: ITable): void {
    this.env('AUDIT_TABLE_NAME', table.tableName);
    this.role.addToPolicy(new PolicyStatement({ actions: AUDIT_TABLE_ACTIONS, resources: [table.tableArn, `${table.tableArn}/index/*`] }));
  }

  bindSecret(secret: ISecret, secretId: string): void {
    this.env('THRAD_API_KEY_SECRET_ID', secretId);
    this.role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`] }));
  }

  bindTopic(topic: ITopic): void {
    this.env('NOTIFY_TOPIC_ARN', topic.topicArn);
    this.role.addToPolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
  }

  get region(): string {
    return Stack.of(this).region;
  }
}
