// The CDK stack: one schedule → the planner → a FIFO tick queue per org → the worker; what matters
// for safety asserted on the template (retries, dead letters, encryption, IAM scoped to the org
// secrets' prefix, alarms), cdk-nag AwsSolutions clean, and a synth that fails on an invalid rule. Bundling is skipped (it is exercised by npm run synth
// and the benchmark).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TABLE_KEYS } from '../../functions/audit/table';
import { ROOT, RuleSynthError, shippedRules } from '../../infra/config';
import { didNotRunPeriodSeconds } from '../../infra/stack';
import { buildApp } from '../../infra/app';
import { AUDIT_TABLE_ACTIONS } from '../../infra/constructs/autopilot-function';

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

  it('has one schedule, every minute, invoking the planner with the tick: no schedule per rule group', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule')) as { Properties: { ScheduleExpression: string; FlexibleTimeWindow: unknown; Target: { Arn: unknown; Input: string; RetryPolicy: { MaximumEventAgeInSeconds: number; MaximumRetryAttempts: number }; DeadLetterConfig: unknown } } }[];
    const p = schedule?.Properties;
    expect(p?.ScheduleExpression).toBe('rate(1 minute)');
    expect(p?.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(JSON.parse(p?.Target.Input ?? '{}')).toEqual({ scheduled_time: '<aws.scheduler.scheduled-time>', execution_id: '<aws.scheduler.execution-id>', attempt: '<aws.scheduler.attempt-number>' });
    expect(p?.Target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 240, MaximumRetryAttempts: 2 });
    expect(p?.Target.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PlannerFunction/) as string, 'Arn'] });
    expect(p?.Target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.stringMatching(/^DeadLetters/) as string, 'Arn'] } });
    // The planner's own retries stay inside SQS's 5-minute deduplication window, then dead-letter.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^PlannerFunction') },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 240,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetters'), 'Arn'] } } },
    });
  });

  it('queues ticks in an encrypted FIFO queue with explicit dedup ids and a FIFO dead-letter queue', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, { Properties: Record<string, unknown> }>;
    const ticksId = Object.keys(queues).find((id) => id.startsWith('Ticks') && !id.startsWith('TickDeadLetters'));
    const dlqId = Object.keys(queues).find((id) => id.startsWith('TickDeadLetters'));
    const ticks = queues[ticksId ?? '']?.Properties;
    const worker = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => JSON.stringify(f).includes('NOTIFY_TOPIC_ARN')) as { Properties: { Timeout: number } };
    expect(worker.Properties.Timeout).toBe(300);
    expect(ticks).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false, SqsManagedSseEnabled: true, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 } });
    expect(ticks?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Properties.Timeout);
    expect(queues[dlqId ?? '']?.Properties).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true });
    // Every queue refuses plain HTTP.
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(3);
    for (const policy of policies) expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
  });

  it('feeds the worker one message at a time, reporting failures per message, at most workerConcurrency at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 10 }, EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Ticks'), 'Arn'] } });
    synth({ workerConcurrency: 25 }).template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 25 } });
  });

  it.each([[1], [1001], [2.5], ['many']])('refuses workerConcurrency %j', (value) => {
    expect(() => synth({ workerConcurrency: value })).toThrow(/Context workerConcurrency must be a whole number from 2 to 1000/);
  });

  it('runs both functions on Node 22, ARM64, with no key in their environment', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Runtime: string; Architectures: string[]; Environment: { Variables: Record<string, unknown> } } }[];
    expect(fns).toHaveLength(2);
    for (const fn of fns) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
      expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('THRAD_ADS_API_KEY');
      expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('THRAD_API_KEY_SECRET_ID');
    }
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ AUDIT_TABLE_NAME: Match.anyValue(), NOTIFY_TOPIC_ARN: Match.anyValue(), RETENTION_DAYS: '400', THRAD_ORG_SECRET_PREFIX: 'thrad-rules/orgs/' }) } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ AUDIT_TABLE_NAME: Match.anyValue(), TICK_QUEUE_URL: Match.anyValue(), THRAD_ORG_SECRET_PREFIX: 'thrad-rules/orgs/' }) } });
  });

  it('grants least privilege: the planner lists the registry and sends ticks; the worker reads only secrets under the prefix', () => {
    const statementsOf = (prefix: string) => {
      const policies = Object.entries(template.findResources('AWS::IAM::Policy')) as [string, { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }][];
      return policies.filter(([, p]) => p.Properties.Roles.some((r) => r.Ref.startsWith(prefix))).flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    };
    const all = [...statementsOf('Planner'), ...statementsOf('Worker'), ...statementsOf('SchedulerRole')];
    for (const statement of all) {
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
    }
    const planner = statementsOf('Planner');
    // Ticks to the tick queue; what its async invocations give up on, to the dead-letter queue.
    expect(planner.flatMap((s) => [s.Action].flat()).sort()).toEqual(['dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage', 'sqs:SendMessage']);
    const sends = planner.filter((s) => [s.Action].flat().includes('sqs:SendMessage')).map((s) => JSON.stringify(s.Resource)).sort();
    expect(sends).toEqual([expect.stringMatching(/DeadLetters/) as string, expect.stringMatching(/"Ticks[0-9A-F]+"/) as string]);
    expect(JSON.stringify(planner.find((s) => s.Action === 'dynamodb:Query')?.Resource)).toMatch(/\/index\/byTime"\]\]\}$/);
    const worker = statementsOf('Worker');
    expect(worker.flatMap((s) => [s.Action].flat()).sort()).toEqual(
      [...AUDIT_TABLE_ACTIONS, 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'sns:Publish', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'].sort(),
    );
    const secretResources = worker.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).map((s) => JSON.stringify(s.Resource));
    expect(secretResources).toEqual(['{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:thrad-rules/orgs/*"]]}']);
    expect(JSON.stringify(synth({ orgSecretPrefix: 'acme/thrad/' }).template.toJSON())).toContain(':secret:acme/thrad/*');
    expect(() => synth({ orgSecretPrefix: 'thrad/*' })).toThrow(/Context orgSecretPrefix must be the start of a secret name/);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] }) });
    expect(statementsOf('SchedulerRole').flatMap((s) => [s.Action].flat()).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
  });

  it('alarms on queue age, both dead-letter queues, both functions, failed org ticks, unservable orgs and action failures', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { MetricName: string; Namespace: string; Threshold: number; ComparisonOperator: string; AlarmActions: unknown[] } }[];
    expect(alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).filter((m) => m !== 'ThradAutopilot/CompletedRuns').sort()).toEqual(
      ['AWS/Lambda/Errors', 'AWS/Lambda/Errors', 'AWS/SQS/ApproximateAgeOfOldestMessage', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'ThradAutopilot/ActionFailures', 'ThradAutopilot/RunFailures', 'ThradAutopilot/UnplannedOrgs'].sort(),
    );
    expect(alarms.find((a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessage')?.Properties).toMatchObject({ Threshold: 120, ComparisonOperator: 'GreaterThanThreshold' });
    for (const alarm of alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')) expect(alarm.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    for (const alarm of alarms) expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('Notifications');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('alarms per schedule group when it has had no completed run for two of its periods, missing data breaching', () => {
    const groups = shippedRules(resolve(ROOT, 'rules')).groups;
    type AlarmProps = { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: string }[]; Period: number; EvaluationPeriods: number; Threshold: number; ComparisonOperator: string; TreatMissingData: string; Statistic: string; AlarmActions: unknown[]; AlarmDescription: string };
    const alarms = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: AlarmProps }[]).map((a) => a.Properties).filter((a) => a.MetricName === 'CompletedRuns');
    expect(groups.length).toBeGreaterThan(1);
    expect(alarms.map((a) => a.Dimensions.find((d) => d.Name === 'schedule')?.Value).sort()).toEqual(groups.map((g) => g.id).sort());
    for (const group of groups) {
      const alarm = alarms.find((a) => a.Dimensions.some((d) => d.Name === 'schedule' && d.Value === group.id));
      expect(alarm).toMatchObject({ Namespace: 'ThradAutopilot', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2, TreatMissingData: 'breaching', Period: didNotRunPeriodSeconds(group) });
      expect(alarm?.Dimensions).toContainEqual({ Name: 'service', Value: 'thrad-autopilot' });
      expect(JSON.stringify(alarm?.AlarmActions)).toContain('Notifications');
      expect(alarm?.AlarmDescription).toContain(`Rule did not run: ${group.ruleIds.join(', ')} (${group.expression}, ${group.timezone})`);
    }
    // A rate is its own period; a daily cron in New York is watched over its longest gap (the 25-hour day of the autumn DST change).
    const rate = groups.find((g) => g.expression === 'rate(15 minutes)');
    const daily = groups.find((g) => g.expression === 'cron(0 22 * * ? *)' && g.timezone === 'America/New_York');
    expect([rate, daily].map((g) => g && didNotRunPeriodSeconds(g))).toEqual([900, 90_000]);
  });

  it('reads the webhook URL from its one secret: the worker is told its id and may read only it', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) expect(JSON.stringify(fn)).not.toContain('THRAD_RULES_WEBHOOK_SECRET_ID');
    const secretsOfWorker = (t: Template): string[] => {
      const policies = Object.values(t.findResources('AWS::IAM::Policy')) as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }[];
      return policies.filter((p) => p.Properties.Roles.some((r) => r.Ref.startsWith('Worker'))).flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).map((s) => JSON.stringify(s.Resource));
    };
    const byName = synth({ webhookSecretName: 'thrad-rules/webhook' }).template;
    byName.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ THRAD_RULES_WEBHOOK_SECRET_ID: 'thrad-rules/webhook', NOTIFY_TOPIC_ARN: Match.anyValue() }) } });
    expect(secretsOfWorker(byName)).toEqual([
      '{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:thrad-rules/orgs/*"]]}',
      '{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:thrad-rules/webhook-??????"]]}',
    ]);
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thrad-webhook-AbCdEf';
    const byArn = synth({ webhookSecretArn: arn }).template;
    byArn.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ THRAD_RULES_WEBHOOK_SECRET_ID: arn }) } });
    expect(secretsOfWorker(byArn)).toContain(JSON.stringify(arn));
    expect(secretsOfWorker(byArn)).toHaveLength(2);
    // The planner reads no secret at all.
    const plannerPolicies = (Object.values(byArn.findResources('AWS::IAM::Policy')) as { Properties: { Roles: { Ref: string }[] } }[]).filter((p) => p.Properties.Roles.some((r) => r.Ref.startsWith('Planner')));
    expect(JSON.stringify(plannerPolicies)).not.toContain('secretsmanager');
  });

  it('creates no key secret; a single-account deployment (secretName or secretArn) is served as the default org', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const noDefault = Object.values(template.findResources('AWS::Lambda::Function')).map((f) => JSON.stringify(f));
    for (const fn of noDefault) expect(fn).not.toContain('THRAD_DEFAULT_ORG');
    const imported = synth({ secretName: 'thrad/api-key', adAccountId: 'acct-1', alarmEmail: 'ops@example.com' }).template;
    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const defaultOrg = JSON.stringify({ org_id: 'default', api_key_secret_id: 'thrad/api-key', ad_account_id: 'acct-1' });
    imported.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ THRAD_DEFAULT_ORG: defaultOrg, TICK_QUEUE_URL: Match.anyValue() }) } });
    imported.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ THRAD_DEFAULT_ORG: defaultOrg, AUDIT_TABLE_NAME: Match.anyValue(), NOTIFY_TOPIC_ARN: Match.anyValue() }) } });
    imported.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    // The worker may read that one secret too (by name: its ARN's random suffix), besides the prefix.
    expect(JSON.stringify(imported.toJSON())).toContain(':secret:thrad/api-key-??????');
    const byArn = synth({ secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thrad-api-key-AbCdEf', defaultOrgId: 'acme' }).template;
    byArn.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ THRAD_DEFAULT_ORG: JSON.stringify({ org_id: 'acme', api_key_secret_id: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thrad-api-key-AbCdEf' }) }) } });
  });

  it.each([{}, { webhookSecretName: 'thrad-rules/webhook' }, { webhookSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thrad-webhook-AbCdEf' }, { secretName: 'thrad/api-key' }, { secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thrad-api-key-AbCdEf' }, { orgSecretPrefix: 'acme/' }])('passes cdk-nag AwsSolutions with every finding acknowledged (%j)', (context) => {
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
