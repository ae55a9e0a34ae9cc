// The CDK stack: what matters for safety asserted on the template, cdk-nag AwsSolutions clean,
// and a synth that fails on an invalid rule. Bundling is skipped (it is exercised by npm run synth
// and the benchmark).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TABLE_KEYS } from '../../functions/audit/table';
import { RuleSynthError } from '../../infra/config';
import { buildApp } from '../../infra/app';
import { AUDIT_TABLE_ACTIONS } from '../../infra/constructs/evaluate-function';

function synth(context: Record<string, unknown> = {}): { template: Template; app: App; stack: ReturnType<typeof buildApp>['stack'] } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const { stack } = buildApp(app);
  return { template: Template.fromStack(stack), app, stack };
}

describe('AutopilotStack', () => {
  const { template, stack } = synth();

  it('keeps the audit trail safe: on-demand, PITR, encrypted, TTL, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'byEntity' }), Match.objectLike({ IndexName: 'actionsByTime' }), Match.objectLike({ IndexName: 'pending' })]),
      }),
    });
  });

  it('has one schedule per distinct (expression, time zone) of the shipped rules, each with its rule ids', () => {
    const schedules = template.findResources('AWS::Scheduler::Schedule');
    const byExpression = Object.values(schedules).map((s) => {
      const p = s.Properties as { ScheduleExpression: string; ScheduleExpressionTimezone: string; Target: { Input: string; RetryPolicy: { MaximumEventAgeInSeconds: number; MaximumRetryAttempts: number } } };
      const input = JSON.parse(p.Target.Input) as { rule_ids: string[]; period_seconds: number; scheduled_time: string };
      return [p.ScheduleExpression, p.ScheduleExpressionTimezone, input.rule_ids.join(','), input.period_seconds, p.Target.RetryPolicy.MaximumEventAgeInSeconds, input.scheduled_time];
    });
    expect(byExpression.sort()).toEqual(
      [
        ['cron(0 12 * * ? *)', 'America/New_York', 'stalled-ads', 82_800, 82_800, '<aws.scheduler.scheduled-time>'],
        ['cron(0 22 * * ? *)', 'America/New_York', 'daypart-pause', 82_800, 82_800, '<aws.scheduler.scheduled-time>'],
        ['cron(0 7 * * ? *)', 'America/New_York', 'daypart-resume', 82_800, 82_800, '<aws.scheduler.scheduled-time>'],
        ['rate(1 hour)', 'America/New_York', 'ctr-floor', 3_600, 3_600, '<aws.scheduler.scheduled-time>'],
        ['rate(10 minutes)', 'America/New_York', 'budget-guard', 600, 600, '<aws.scheduler.scheduled-time>'],
        ['rate(15 minutes)', 'America/New_York', 'bid-down-expensive,cpc-guard,scale-winners', 900, 900, '<aws.scheduler.scheduled-time>'],
        ['rate(30 minutes)', 'America/New_York', 'cpc-spike-guard', 1_800, 1_800, '<aws.scheduler.scheduled-time>'],
        ['rate(5 minutes)', 'America/New_York', 'activate-approved', 300, 300, '<aws.scheduler.scheduled-time>'],
      ].sort(),
    );
  });

  it('retries a schedule within its period and sends what it gives up on to the dead-letter queue', () => {
    template.allResourcesProperties('AWS::Scheduler::Schedule', {
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({
        RetryPolicy: { MaximumEventAgeInSeconds: Match.anyValue(), MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetters'), 'Arn'] } },
      }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetters'), 'Arn'] } } },
    });
  });

  it('runs the function on Node 22, ARM64, with the Secrets Manager secret and no key in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          AUDIT_TABLE_NAME: Match.anyValue(),
          THRAD_API_KEY_SECRET_ID: Match.anyValue(),
          NOTIFY_TOPIC_ARN: Match.anyValue(),
          RETENTION_DAYS: '400',
        }),
      },
    });
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('THRAD_ADS_API_KEY');
  });

  it('grants least privilege: no wildcard actions, resources scoped to this stack', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
    }
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      [...AUDIT_TABLE_ACTIONS, 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'sns:Publish', 'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'lambda:InvokeFunction', 'sqs:SendMessage'].sort(),
    );
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] }) });
  });

  it('alarms on function errors, dead letters and action failures, to the notifications topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { MetricName: string; Namespace: string; AlarmActions: unknown[] } }[];
    expect(alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort()).toEqual(['AWS/Lambda/Errors', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'ThradAutopilot/ActionFailures']);
    for (const alarm of alarms) expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('Notifications');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('creates an empty API key secret unless one is imported, and subscribes an alarm email', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const imported = synth({ secretName: 'thrad/api-key', alarmEmail: 'ops@example.com' }).template;
    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ THRAD_API_KEY_SECRET_ID: 'thrad/api-key' }) } });
    imported.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it.each([{}, { secretName: 'thrad/api-key' }, { secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thrad-api-key-AbCdEf' }])('passes cdk-nag AwsSolutions with every finding acknowledged (%j)', (context) => {
    const built = Object.keys(context).length === 0 ? stack : synth(context).stack;
    const report = new AwsSolutionsChecks().validateScope(built);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('fails the synth with the validator’s message on an invalid rule', () => {
    const dir = mkdtempSync(join(resolve(__dirname, '..', '..', '.tmp'), 'synth-rules-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ id: 'bad', mode: 'live', schedule: { expression: 'rate(5 minutes)' }, level: 'ad', when: { metric: 'budget_spent_fraction', op: 'gte', value: 0.9 }, then: { action: 'pause' } }));
    expect(() => synth({ rulesDir: dir })).toThrow(RuleSynthError);
    expect(() => synth({ rulesDir: dir })).toThrow(/bad\.json:when\.metric: budget_spent_fraction is only available at campaign level/);
  });
});
