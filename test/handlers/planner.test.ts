// The planner Lambda against dynalite (the registry) and an in-process FIFO queue behind the real
// SQSClient: one message per enabled org per tick with every rule due for it (coincident schedules
// in one message), in each rule's time zone (a time in the spring-forward gap never comes), group =
// org, dedup = org#tick (a retried invocation sends nothing twice), a disabled org gets nothing,
// one org's failing send never drops another's, entries it cannot serve are reported.
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { InvalidSchedulerEventError, TickSendError } from '../../functions/handlers/errors';
import { createPlannerHandler } from '../../functions/handlers/planner';
import { tickMessageSchema, type TickMessage } from '../../functions/handlers/tick';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { OrgEntry } from '../../functions/orgs/schema';
import { orgKeys, TableOrgRegistry } from '../../functions/orgs/table';
import { ManualClock } from '../../functions/shared/clock';
import { FakeFifoQueue } from '../helpers/fifo-queue';
import { deployedRules, NY_22 } from './deployment';

const org = (id: string, extra: Partial<OrgEntry> = {}): OrgEntry => ({ org_id: id, api_key_secret_id: `thrad-rules/orgs/${id}`, ad_account_id: `acct-${id}`, enabled: true, ...extra });
const schedulerEvent = (ms: number, attempt = '1') => ({ scheduled_time: new Date(ms).toISOString().replace('.000Z', 'Z'), execution_id: 'exec-1', attempt });
const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' };

describe('planner handler', () => {
  let dynamo: EmbeddedDynamo;
  let tableName: string;
  let registry: TableOrgRegistry;
  let queue: FakeFifoQueue;
  let output: string[];
  const clock = new ManualClock(NY_22);

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    tableName = `planner-${randomBytes(4).toString('hex')}`;
    await new AuditStore({ tableName, client: dynamo.client }).ensureTable();
    registry = new TableOrgRegistry({ tableName, client: dynamo.client });
    queue = new FakeFifoQueue(clock);
    clock.set(NY_22);
    output = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(String(chunk));
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    queue.restore();
  });

  const plannerWith = (env: Record<string, string> = {}) =>
    createPlannerHandler({
      env: { AUDIT_TABLE_NAME: tableName, TICK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ticks.fifo', THRAD_RULES_JSON: JSON.stringify(deployedRules()), THRAD_ORG_SECRET_PREFIX: 'thrad-rules/orgs/', ORGS_CACHE_SECONDS: '0', ...env },
      dynamo: dynamo.client,
      sqs: queue.client,
      logger: new Logger({ serviceName: 'thrad-autopilot', logLevel: 'INFO' }),
      sleep: () => Promise.resolve(),
    });
  const bodies = (): TickMessage[] => queue.peek().map((m) => tickMessageSchema.parse(JSON.parse(m.body)));

  it('sends one message per enabled org for a tick, with every rule due for it (coincident schedules together)', async () => {
    await registry.add(org('acme'));
    await registry.add(org('beta', { rule_ids: ['pause-expensive', 'activate-approved'] }));
    const result = await plannerWith()(schedulerEvent(NY_22), context);
    expect(result).toEqual({ tick: '2026-11-24T03:00:00.000Z', orgs: 2, sent: ['acme', 'beta'], unplanned: [] });
    expect(queue.peek().map((m) => [m.groupId, m.deduplicationId])).toEqual([
      ['acme', `acme#${NY_22}`],
      ['beta', `beta#${NY_22}`],
    ]);
    expect(bodies()).toEqual([
      { org_id: 'acme', ad_account_id: 'acct-acme', tick: '2026-11-24T03:00:00.000Z', rule_ids: ['night-pause', 'pause-expensive'], period_seconds: 900 },
      // beta's rules: only pause-expensive is due at 22:00, and its period is its own group's.
      { org_id: 'beta', ad_account_id: 'acct-beta', tick: '2026-11-24T03:00:00.000Z', rule_ids: ['pause-expensive'], period_seconds: 900 },
    ]);
    // 22:01: nothing is due for anyone; 22:15: the 15-minute rule only.
    await plannerWith()(schedulerEvent(NY_22 + 60_000), context);
    expect(queue.peek()).toHaveLength(2);
    queue.take();
    await plannerWith()(schedulerEvent(NY_22 + 15 * 60_000), context);
    expect(bodies().map((b) => `${b.org_id}:${b.rule_ids.join(',')}`)).toEqual(['acme:pause-expensive', 'beta:pause-expensive']);
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => '_aws' in line);
    expect(emf).toMatchObject({ OrgsServed: 2, TickMessagesSent: 2, TickSendFailures: 0, UnplannedOrgs: 0, service: 'thrad-autopilot' });
  });

  it('a retried invocation (same tick) sends no second run: dedup id org#tick', async () => {
    await registry.add(org('acme'));
    const planner = plannerWith();
    await planner(schedulerEvent(NY_22), context);
    clock.advance(60_000);
    await planner(schedulerEvent(NY_22, '2'), context);
    expect(queue.calls).toHaveLength(2);
    expect(queue.peek().map((m) => m.deduplicationId)).toEqual([`acme#${NY_22}`]);
  });

  it('plans on the whole minute of the scheduled time', async () => {
    await registry.add(org('acme'));
    await plannerWith()({ scheduled_time: '2026-11-24T03:00:37Z' }, context);
    expect(bodies()[0]?.tick).toBe('2026-11-24T03:00:00.000Z');
  });

  it("follows each rule's time zone through DST: a time in the spring-forward gap plans nothing", async () => {
    await registry.add(org('gap', { rule_ids: ['spring-gap'] }));
    // 2027-03-14 02:30 does not exist in New York; 2027-03-15 02:30 EDT = 06:30Z.
    const planner = plannerWith({ ORGS_CACHE_SECONDS: '30' });
    const planned: string[] = [];
    for (let t = Date.parse('2027-03-14T05:00:00Z'); t <= Date.parse('2027-03-14T09:00:00Z'); t += 60_000) {
      const result = await planner(schedulerEvent(t), context);
      planned.push(...result.sent.map(() => new Date(t).toISOString()));
    }
    expect(planned).toEqual([]);
    expect(queue.peek()).toEqual([]);
    const next = await planner(schedulerEvent(Date.parse('2027-03-15T06:30:00Z')), context);
    expect(next.sent).toEqual(['gap']);
    expect(bodies()[0]).toMatchObject({ rule_ids: ['spring-gap'], tick: '2027-03-15T06:30:00.000Z' });
  });

  it('a disabled org gets no message (within the registry cache, here 0 s)', async () => {
    await registry.add(org('acme'));
    await registry.add(org('beta'));
    await registry.setEnabled('beta', false);
    const result = await plannerWith()(schedulerEvent(NY_22), context);
    expect(result.sent).toEqual(['acme']);
    expect(queue.peek().map((m) => m.groupId)).toEqual(['acme']);
  });

  it('sends to many orgs in batches of 10', async () => {
    for (let i = 0; i < 23; i += 1) await registry.add(org(`org-${String(i).padStart(2, '0')}`));
    const result = await plannerWith()(schedulerEvent(NY_22), context);
    expect(result.sent).toHaveLength(23);
    expect(queue.calls.map((c) => c.Entries?.length)).toEqual([10, 10, 3]);
    expect(new Set(queue.peek().map((m) => m.groupId)).size).toBe(23);
  });

  it("retries a refused entry; one org's send still failing fails the invocation after every other org's message is out", async () => {
    await registry.add(org('acme'));
    await registry.add(org('beta'));
    await registry.add(org('gamma'));
    queue.failing.set('acme', { times: 1, code: 'ServiceUnavailable', senderFault: false });
    queue.failing.set('beta', { times: Number.POSITIVE_INFINITY, code: 'KmsThrottled', senderFault: false });
    const error = await plannerWith()(schedulerEvent(NY_22), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TickSendError);
    expect((error as TickSendError).failures).toEqual([{ org_id: 'beta', code: 'KmsThrottled', message: 'injected KmsThrottled' }]);
    expect(queue.peek().map((m) => m.groupId)).toEqual(['gamma', 'acme']);
    expect(queue.calls).toHaveLength(3);
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => '_aws' in line);
    expect(emf).toMatchObject({ TickMessagesSent: 2, TickSendFailures: 1 });
    // Lambda retries the invocation: the sent ones are deduplicated, beta's goes out.
    queue.failing.clear();
    await plannerWith()(schedulerEvent(NY_22, '2'), context);
    expect(queue.peek().map((m) => m.groupId)).toEqual(['gamma', 'acme', 'beta']);
  });

  it('reports entries it cannot serve (invalid, or a secret outside the prefix) and serves the others', async () => {
    await registry.add(org('acme'));
    await registry.add(org('stray', { api_key_secret_id: 'elsewhere/stray' }));
    await DynamoDBDocumentClient.from(dynamo.client).send(new PutCommand({ TableName: tableName, Item: { ...orgKeys.entry('acct-bad'), gsi4pk: 'ORGS', gsi4sk: 'bad', org_id: 'bad', enabled: true } }));
    const result = await plannerWith()(schedulerEvent(NY_22), context);
    expect(result.sent).toEqual(['acme']);
    expect(result.unplanned).toEqual([
      { org_id: 'bad', reason: expect.stringContaining('A#acct-bad#ORG/REGISTRY: (org): give exactly one of "api_key_env" or "api_key_secret_id"') as string },
      { org_id: 'stray', reason: expect.stringContaining('"elsewhere/stray" is not under the deployment\'s prefix "thrad-rules/orgs/"') as string },
    ]);
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => '_aws' in line);
    expect(emf).toMatchObject({ UnplannedOrgs: 2, TickMessagesSent: 1 });
  });

  it("serves the deployment's default org (single-secret deploy) until the registry has it", async () => {
    const fallback = JSON.stringify({ org_id: 'default', api_key_secret_id: 'thrad/api-key', ad_account_id: 'acct-legacy' });
    expect((await plannerWith({ THRAD_DEFAULT_ORG: fallback })(schedulerEvent(NY_22), context)).sent).toEqual(['default']);
    expect(bodies()[0]).toMatchObject({ org_id: 'default', ad_account_id: 'acct-legacy' });
    queue.take();
    // Registered under the same ad account (by another name): the registry's entry is served, once.
    await registry.add(org('legacy', { ad_account_id: 'acct-legacy' }));
    expect((await plannerWith({ THRAD_DEFAULT_ORG: fallback })(schedulerEvent(NY_22 + 15 * 60_000), context)).sent).toEqual(['legacy']);
  });

  it('rejects a malformed event with a typed error, sending nothing', async () => {
    const error = await plannerWith()({ scheduled_time: '<aws.scheduler.scheduled-time>' }, context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchedulerEventError);
    expect(queue.calls).toEqual([]);
    expect(output.join('')).toContain('rejected a malformed scheduler event');
  });

  it('refuses to start without its queue', async () => {
    await expect(createPlannerHandler({ env: { AUDIT_TABLE_NAME: tableName, THRAD_RULES_JSON: '[]' }, dynamo: dynamo.client })(schedulerEvent(NY_22), context)).rejects.toThrow('TICK_QUEUE_URL is not set');
  });
});
