// The audit store: decision records, intents, run summaries, occurrence claims, per-entity
// policy state and the request ledger, on one DynamoDB table (table.ts). Only single-item
// conditional writes, queries, batch reads and batch writes: the same code runs on DynamoDB and
// on dynalite. DynamoDB errors are translated here, in `send`, and nowhere else.
import { createHash } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { HELD_CLASSES } from '../actions/types';
import { systemClock, type Clock } from '../shared/clock';
import { forEachConcurrent } from '../shared/concurrency';
import { describeIssues } from '../shared/issues';
import { assembleLedger, ledgerShardSchema, type LedgerShard, type RuleLedger } from './repeats';
import { AuditRecordInvalidError, AuditStoreError, AuditTableMissingError } from './errors';
import {
  ACTION_OUTCOMES,
  decisionRecordSchema,
  priorActionSchema,
  runSummarySchema,
  type ApiResult,
  holderSchema,
  observedSchema,
  type DecisionRecord,
  type EntityMemory,
  type MemoryUpdate,
  type Outcome,
  type RepeatTally,
  type RunSummary,
} from './records';
import { createTableInput, DEFAULT_RETENTION_DAYS, INDEXES, TABLE_KEYS } from './table';

export interface AuditStoreOptions {
  tableName: string;
  client: DynamoDBClient;
  /** How long records are kept (the TTL); default 400 days. */
  retentionDays?: number;
  /** The engine clock: record times, TTLs and the request ledger. */
  clock?: Clock;
  /** Real time: leases. */
  realClock?: Clock;
}

export interface DecisionQuery {
  entityId?: string;
  ruleId?: string;
  runId?: string;
  outcome?: string;
  /** ISO 8601 or Unix ms, inclusive. */
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
  actionsOnly?: boolean;
}

export type OccurrenceClaim = { status: 'claimed' | 'taken_over' } | { status: 'completed' | 'in_progress'; runId: string };

const MONTH_MS = 31 * 86_400_000;
/**
 * Batch requests in flight at once (writes of 25 records, reads of 100 memories): enough to keep
 * the table busy while the next batch is marshalled, few enough not to be throttled.
 */
export const BATCH_CONCURRENCY = 4;

const k = {
  decision: (acct: string, id: string) => `A#${acct}#D#${id}`,
  run: (acct: string, runId: string) => `A#${acct}#RUN#${runId}`,
  occurrence: (acct: string, scheduleId: string, time: string, mode: RunMode) => `A#${acct}#OCC#${scheduleId}#${time}${mode === 'live' ? '' : `#${mode}`}`,
  state: (acct: string, entityId: string) => `A#${acct}#S#${entityId}`,
  ledger: (acct: string, fp: string) => `A#${acct}#K#${fp}`,
  entity: (acct: string, entityId: string) => `A#${acct}#E#${entityId}`,
  rule: (acct: string, ruleId: string) => `A#${acct}#R#${ruleId}`,
  month: (acct: string, iso: string) => `A#${acct}#M#${iso.slice(0, 7)}`,
  actions: (acct: string, iso: string) => `A#${acct}#ACT#${iso.slice(0, 7)}`,
  pending: (acct: string) => `A#${acct}#PENDING`,
  capabilities: (acct: string, profile: string) => `A#${acct}#CAP#${profile}`,
  lock: (acct: string, entityId: string, cls: string) => `A#${acct}#L#${entityId}#${cls}`,
  repeats: (acct: string) => `A#${acct}#REP`,
  ledgerShard: (ruleId: string, shard: number) => `R#${ruleId}#${shard}`,
};

/** A ledger shard as stored: its entries as one JSON string (a thousand small maps are slow to marshal, a string is not). */
function ledgerShardItem(accountId: string, shard: LedgerShard): Record<string, unknown> {
  return { ...shard, entries: JSON.stringify(shard.entries), [TABLE_KEYS.partitionKey]: k.repeats(accountId), [TABLE_KEYS.sortKey]: k.ledgerShard(shard.rule_id, shard.shard), type: 'repeats' };
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}

/** Rules counted per UpdateItem (DynamoDB caps an expression at 4 KB). */
const RUN_COUNTS_PER_UPDATE = 100;

const capabilitiesRecordSchema = z.object({ metadata_fields: z.boolean(), zero_impression_items: z.boolean(), detail: z.string(), checked_at_ms: z.number(), expires_at: z.number() });
export type CapabilitiesRecord = z.infer<typeof capabilitiesRecordSchema>;

/** How a run acts: `live`, or `dry_run` when every rule is forced to record only. Part of claims and ids, so a dry run never takes live work. */
export type RunMode = 'live' | 'dry_run';

/**
 * The decision id of (account, rule, entity, occurrence, mode): the same occurrence always maps to
 * the same record, and a dry-run decision never shares an id (or an intent) with a live one, nor a
 * run forced to dry run (`run --dry-run`) with a dry_run rule's own record in a live run.
 */
export function decisionIdFor(accountId: string, ruleId: string, entityId: string, occurrence: string, mode: RunMode | 'approval' | 'forced_dry_run'): string {
  return `d_${createHash('sha256').update(`${accountId}|${ruleId}|${entityId}|${occurrence}|${mode}`).digest('hex').slice(0, 24)}`;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

/** Month keys from `untilIso` back to `sinceIso`, newest first. */
function monthsBetween(sinceMs: number, untilMs: number): string[] {
  const out: string[] = [];
  const cursor = new Date(untilMs);
  cursor.setUTCDate(1);
  cursor.setUTCHours(0, 0, 0, 0);
  const first = new Date(sinceMs);
  first.setUTCDate(1);
  first.setUTCHours(0, 0, 0, 0);
  while (cursor.getTime() >= first.getTime() && out.length < 240) {
    out.push(cursor.toISOString());
    cursor.setUTCMonth(cursor.getUTCMonth() - 1);
  }
  return out;
}

export class AuditStore {
  readonly tableName: string;
  readonly retentionDays: number;
  private readonly doc: DynamoDBDocumentClient;
  private readonly raw: DynamoDBClient;
  private readonly clock: Clock;
  private readonly realClock: Clock;

  constructor(options: AuditStoreOptions) {
    this.tableName = options.tableName;
    this.raw = options.client;
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.clock = options.clock ?? systemClock;
    this.realClock = options.realClock ?? systemClock;
  }

  /** TTL for an item written now. */
  expiresAt(): number {
    return Math.floor(this.clock.nowMs() / 1000) + this.retentionDays * 86_400;
  }

  // ---- the one translation place ----------------------------------------------------------------

  private translate(operation: string, error: unknown): never {
    const name = errorName(error);
    if (name === 'ResourceNotFoundException') throw new AuditTableMissingError(this.tableName, { cause: error });
    throw new AuditStoreError(`Audit store ${operation} on ${this.tableName} failed: ${name}: ${error instanceof Error ? error.message : String(error)}`, { operation, awsCode: name }, { cause: error });
  }

  private async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      return this.translate(operation, error);
    }
  }

  /** Run a conditional write; a failed condition is `false`, anything else an AuditStoreError. */
  private async conditional(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      return this.translate(operation, error);
    }
  }

  // ---- table -----------------------------------------------------------------------------------

  /** Create the table when it is missing (local DynamoDB-compatible servers; never on AWS, where CDK owns it). */
  async ensureTable(): Promise<'created' | 'exists'> {
    try {
      await this.raw.send(new DescribeTableCommand({ TableName: this.tableName }));
      return 'exists';
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') this.translate('DescribeTable', error);
    }
    try {
      await this.raw.send(new CreateTableCommand(createTableInput(this.tableName)));
    } catch (error) {
      // Another process created it first.
      if (errorName(error) !== 'ResourceInUseException') this.translate('CreateTable', error);
    }
    for (let i = 0; i < 50; i += 1) {
      const described = await this.send('DescribeTable', () => this.raw.send(new DescribeTableCommand({ TableName: this.tableName })));
      if (described.Table?.TableStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return 'created';
  }

  // ---- decisions ---------------------------------------------------------------------------------

  private decisionItem(record: DecisionRecord): Record<string, unknown> {
    const sortKey = `${record.evaluated_at}#${record.decision_id}`;
    const acct = record.account_id;
    // The keys first, then the record's fields copied onto them: spreading a record of 40 fields
    // into a new literal costs V8 a new hidden class per item (~100 µs each, seconds per run).
    // No record field is named like a key (pk, sk, type, gsi*), so neither overwrites the other.
    const item: Record<string, unknown> = Object.assign(
      {
        [TABLE_KEYS.partitionKey]: k.decision(acct, record.decision_id),
        [TABLE_KEYS.sortKey]: 'DECISION',
        type: 'decision',
        [INDEXES.byEntity.pk]: k.entity(acct, record.entity_id),
        [INDEXES.byEntity.sk]: sortKey,
        [INDEXES.byRule.pk]: k.rule(acct, record.rule_id),
        [INDEXES.byRule.sk]: sortKey,
        [INDEXES.byRun.pk]: k.run(acct, record.run_id),
        [INDEXES.byRun.sk]: sortKey,
        [INDEXES.byTime.pk]: k.month(acct, record.evaluated_at),
        [INDEXES.byTime.sk]: sortKey,
      },
      record,
    );
    if (ACTION_OUTCOMES.has(record.outcome)) {
      item[INDEXES.actionsByTime.pk] = k.actions(acct, record.evaluated_at);
      item[INDEXES.actionsByTime.sk] = sortKey;
    }
    if (record.outcome === 'pending') {
      item[INDEXES.pending.pk] = k.pending(acct);
      item[INDEXES.pending.sk] = sortKey;
    }
    return item;
  }

  /** A stored item through its schema; an item that does not fit is an error naming the item and the fields. */
  private parseItem<S extends z.ZodType>(schema: S, item: Record<string, unknown>): z.infer<S> {
    const result = schema.safeParse(item);
    if (!result.success) throw new AuditRecordInvalidError(String(item[TABLE_KEYS.partitionKey]), describeIssues(result.error.issues, { max: 3 }).join('; '));
    return result.data;
  }

  private parseDecision(item: Record<string, unknown>): DecisionRecord {
    return this.parseItem(decisionRecordSchema, item);
  }

  /**
   * A batch request, sent again with what DynamoDB left unprocessed (throttling) after a growing
   * pause, until nothing is left; an AuditStoreError after 8 retries.
   */
  private async drain<T>(operation: string, pending: T[], send: (batch: T[]) => Promise<T[]>): Promise<void> {
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 8) throw new AuditStoreError(`Audit store ${operation} left ${pending.length} items unprocessed after retries`, { operation, awsCode: 'Unprocessed' });
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt)));
      pending = await this.send(operation, () => send(pending));
    }
  }

  /**
   * Write decisions that need no condition (the run holds the occurrence's claim), 25 per request,
   * a few requests in flight. Each record has its own key (its decision id), so the order of the
   * batches does not matter; a failure stops new batches and is thrown.
   */
  async putDecisions(records: readonly DecisionRecord[]): Promise<void> {
    const batches: DecisionRecord[][] = [];
    for (let i = 0; i < records.length; i += 25) batches.push(records.slice(i, i + 25));
    await forEachConcurrent(batches, BATCH_CONCURRENCY, (batch) =>
      this.drain(
        'BatchWriteItem',
        batch.map((record) => ({ PutRequest: { Item: this.decisionItem(record) } })),
        async (requests) => {
          const output = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
          return (output.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        },
      ),
    );
  }

  /**
   * Write a decision only if none exists for its (rule, entity, occurrence): the intent before an
   * action, or any decision of a run that took over an occurrence. `claimed: false` returns the
   * record already there.
   */
  async claimDecision(record: DecisionRecord): Promise<{ claimed: true } | { claimed: false; existing: DecisionRecord | null }> {
    const ok = await this.conditional('PutItem', () =>
      this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.decisionItem(record), ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } })),
    );
    if (ok) return { claimed: true };
    return { claimed: false, existing: await this.getDecision(record.account_id, record.decision_id) };
  }

  /**
   * Record an intent's outcome, only if it is still pending and ours. False when someone else
   * owns it now (our lease expired and another run reconciled it).
   */
  async completeIntent(record: DecisionRecord, update: { outcome: Outcome; reason: string; statusAfter: string | null; apiResult: ApiResult | null; entityUpdatedAtAfter: number | null; message?: string | null; valueBefore?: number | null; valueAfter?: number | null }): Promise<boolean> {
    const actions = ACTION_OUTCOMES.has(update.outcome);
    const sortKey = `${record.evaluated_at}#${record.decision_id}`;
    const names: Record<string, string> = { '#outcome': 'outcome', '#pk': TABLE_KEYS.partitionKey, '#gp': INDEXES.pending.pk, '#gs': INDEXES.pending.sk };
    const values: Record<string, unknown> = {
      ':outcome': update.outcome,
      ':pending': 'pending',
      ':run': record.run_id,
      ':reason': update.reason,
      ':after': update.statusAfter,
      ':api': update.apiResult,
      ':updated': update.entityUpdatedAtAfter,
      ':message': update.message ?? record.message,
    };
    let set = '#outcome = :outcome, reason = :reason, status_after = :after, api_result = :api, entity_updated_at_after = :updated, message = :message, lease_until_ms = :null';
    values[':null'] = null;
    if (update.valueBefore !== undefined) {
      set += ', value_before_micros = :vb';
      values[':vb'] = update.valueBefore;
    }
    if (update.valueAfter !== undefined) {
      set += ', value_after_micros = :va';
      values[':va'] = update.valueAfter;
    }
    if (actions) {
      names['#ap'] = INDEXES.actionsByTime.pk;
      names['#as'] = INDEXES.actionsByTime.sk;
      values[':ap'] = k.actions(record.account_id, record.evaluated_at);
      values[':as'] = sortKey;
      set += ', #ap = :ap, #as = :as';
    }
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.decision(record.account_id, record.decision_id), [TABLE_KEYS.sortKey]: 'DECISION' },
          UpdateExpression: `SET ${set} REMOVE #gp, #gs`,
          ConditionExpression: 'attribute_exists(#pk) AND #outcome = :pending AND run_id = :run',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * Resolve a proposal (approval mode): only while it is still awaiting approval, so two people
   * approving or rejecting it at once resolve it once. False when it was resolved already.
   */
  async resolveProposal(record: DecisionRecord, outcome: 'approved' | 'rejected' | 'expired', approval: NonNullable<DecisionRecord['approval']>): Promise<boolean> {
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.decision(record.account_id, record.decision_id), [TABLE_KEYS.sortKey]: 'DECISION' },
          UpdateExpression: 'SET #outcome = :outcome, approval = :approval',
          ConditionExpression: '#outcome = :awaiting',
          ExpressionAttributeNames: { '#outcome': 'outcome' },
          ExpressionAttributeValues: { ':outcome': outcome, ':approval': approval, ':awaiting': 'awaiting_approval' },
        }),
      ),
    );
  }

  /**
   * Take the write lock of one value of an entity (its budget, its bid) for an intent: between
   * the re-read and the call nobody else may change it, or two runs that both read the old value
   * would both record the change. Free, expired (real time), or already this intent's.
   */
  async lockEntityValue(accountId: string, entityId: string, cls: string, owner: string, leaseUntilMs: number): Promise<boolean> {
    const nowMs = this.realClock.nowMs();
    return this.conditional('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [TABLE_KEYS.partitionKey]: k.lock(accountId, entityId, cls), [TABLE_KEYS.sortKey]: 'LOCK', type: 'lock', owner, lease_until_ms: leaseUntilMs, expires_at: Math.floor(leaseUntilMs / 1000) + 86_400 },
          ConditionExpression: 'attribute_not_exists(#pk) OR lease_until_ms < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
        }),
      ),
    );
  }

  /** Who holds the write lock of an entity's value now, if anyone (for messages). */
  async entityValueLockOwner(accountId: string, entityId: string, cls: string): Promise<string | null> {
    const output = await this.send('GetItem', () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: k.lock(accountId, entityId, cls), [TABLE_KEYS.sortKey]: 'LOCK' }, ConsistentRead: true })));
    const item = output.Item;
    return item && typeof item.owner === 'string' && typeof item.lease_until_ms === 'number' && item.lease_until_ms >= this.realClock.nowMs() ? item.owner : null;
  }

  /** Release the lock (its lease ends now); an UpdateItem, so the function needs no DeleteItem. */
  async unlockEntityValue(accountId: string, entityId: string, cls: string, owner: string): Promise<void> {
    await this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.lock(accountId, entityId, cls), [TABLE_KEYS.sortKey]: 'LOCK' },
          UpdateExpression: 'SET lease_until_ms = :zero',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':zero': 0 },
        }),
      ),
    );
  }

  /**
   * Give an intent up without an outcome (its call may or may not have landed): the lease ends now,
   * so the next run reconciles it from the entity's state.
   */
  async releaseIntent(record: DecisionRecord, callEndedAtS: number | null = null): Promise<boolean> {
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.decision(record.account_id, record.decision_id), [TABLE_KEYS.sortKey]: 'DECISION' },
          UpdateExpression: 'SET lease_until_ms = :zero, call_ended_at_s = :ended',
          ConditionExpression: '#outcome = :pending AND run_id = :run',
          ExpressionAttributeNames: { '#outcome': 'outcome' },
          ExpressionAttributeValues: { ':zero': 0, ':pending': 'pending', ':run': record.run_id, ':ended': callEndedAtS },
        }),
      ),
    );
  }

  /** Note on an intent that its call is being sent now (before the call: a crash after it leaves the mark). */
  async markCalled(record: DecisionRecord, calledAtS: number): Promise<boolean> {
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.decision(record.account_id, record.decision_id), [TABLE_KEYS.sortKey]: 'DECISION' },
          UpdateExpression: 'SET called_at_s = :at',
          ConditionExpression: '#outcome = :pending AND run_id = :run',
          ExpressionAttributeNames: { '#outcome': 'outcome' },
          ExpressionAttributeValues: { ':at': calledAtS, ':pending': 'pending', ':run': record.run_id },
        }),
      ),
    );
  }

  /** Take over a pending intent whose owner's lease has run out (its process died mid-action). */
  async takeOverIntent(record: DecisionRecord, runId: string, leaseUntilMs: number): Promise<boolean> {
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.decision(record.account_id, record.decision_id), [TABLE_KEYS.sortKey]: 'DECISION' },
          UpdateExpression: 'SET run_id = :run, lease_until_ms = :lease',
          ConditionExpression: '#outcome = :pending AND run_id = :previous AND lease_until_ms < :now',
          ExpressionAttributeNames: { '#outcome': 'outcome' },
          ExpressionAttributeValues: { ':run': runId, ':lease': leaseUntilMs, ':pending': 'pending', ':previous': record.run_id, ':now': this.realClock.nowMs() },
        }),
      ),
    );
  }

  /** Intents awaiting an outcome whose lease has expired (their owner is gone). */
  async expiredIntents(accountId: string): Promise<DecisionRecord[]> {
    const now = this.realClock.nowMs();
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: INDEXES.pending.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.pending.pk },
      ExpressionAttributeValues: { ':pk': k.pending(accountId) },
    });
    return items.map((item) => this.parseDecision(item)).filter((r) => r.outcome === 'pending' && (r.lease_until_ms ?? 0) < now);
  }

  async getDecision(accountId: string, decisionId: string): Promise<DecisionRecord | null> {
    const output = await this.send('GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: k.decision(accountId, decisionId), [TABLE_KEYS.sortKey]: 'DECISION' }, ConsistentRead: true })),
    );
    if (!output.Item) return null;
    const record = this.parseDecision(output.Item);
    return record.expires_at > Math.floor(this.clock.nowMs() / 1000) ? record : null;
  }

  private async queryAll(input: QueryCommandInput, limit = Number.POSITIVE_INFINITY, filter: (item: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const output = await this.send('Query', () => this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));
      for (const item of output.Items ?? []) {
        if (filter(item)) out.push(item);
        if (out.length >= limit) return out;
      }
      start = output.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * Decisions newest first, by the cheapest access path: a run, an entity's history, a rule's
   * record, the actions index, or all decisions by month. Expired items are never returned.
   */
  async queryDecisions(accountId: string, query: DecisionQuery = {}): Promise<DecisionRecord[]> {
    const limit = query.limit ?? 100;
    const nowSeconds = Math.floor(this.clock.nowMs() / 1000);
    const since = query.sinceMs ?? 0;
    const until = query.untilMs ?? this.clock.nowMs() + MONTH_MS;
    const lo = new Date(since).toISOString();
    const hi = `${new Date(until).toISOString()}~`;
    const keep = (item: Record<string, unknown>): boolean =>
      item.type === 'decision' &&
      (typeof item.expires_at !== 'number' || item.expires_at > nowSeconds) &&
      (query.ruleId === undefined || item.rule_id === query.ruleId) &&
      (query.entityId === undefined || item.entity_id === query.entityId) &&
      (query.runId === undefined || item.run_id === query.runId) &&
      (query.outcome === undefined || item.outcome === query.outcome) &&
      (!query.actionsOnly || ACTION_OUTCOMES.has(item.outcome as Outcome));
    const ranged = (index: { name: string; pk: string; sk: string }, pk: string): QueryCommandInput => ({
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': index.pk, '#sk': index.sk },
      ExpressionAttributeValues: { ':pk': pk, ':lo': lo, ':hi': hi },
      ScanIndexForward: false,
    });
    let items: Record<string, unknown>[];
    if (query.runId !== undefined) items = await this.queryAll(ranged(INDEXES.byRun, k.run(accountId, query.runId)), limit, keep);
    else if (query.entityId !== undefined) items = await this.queryAll(ranged(INDEXES.byEntity, k.entity(accountId, query.entityId)), limit, keep);
    else if (query.ruleId !== undefined) items = await this.queryAll(ranged(INDEXES.byRule, k.rule(accountId, query.ruleId)), limit, keep);
    else {
      const actions = query.actionsOnly === true || (query.outcome !== undefined && ACTION_OUTCOMES.has(query.outcome as Outcome));
      items = [];
      for (const month of monthsBetween(since, until)) {
        const index = actions ? INDEXES.actionsByTime : INDEXES.byTime;
        items.push(...(await this.queryAll(ranged(index, actions ? k.actions(accountId, month) : k.month(accountId, month)), limit - items.length, keep)));
        if (items.length >= limit) break;
      }
    }
    return items.map((item) => this.parseDecision(item));
  }

  // ---- entity memory (observations, holders, cooldowns) --------------------------------------

  async entityMemories(accountId: string, entityIds: readonly string[]): Promise<Map<string, EntityMemory>> {
    const out = new Map<string, EntityMemory>();
    const unique = [...new Set(entityIds)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += 100) chunks.push(unique.slice(i, i + 100));
    await forEachConcurrent(chunks, BATCH_CONCURRENCY, (chunk) =>
      this.drain(
        'BatchGetItem',
        chunk.map((id) => ({ [TABLE_KEYS.partitionKey]: k.state(accountId, id), [TABLE_KEYS.sortKey]: 'STATE' })),
        async (keys) => {
          const output = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
          for (const item of output.Responses?.[this.tableName] ?? []) {
            const memory = this.parseMemory(item);
            out.set(memory.entityId, memory);
          }
          return (output.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
        },
      ),
    );
    return out;
  }

  private parseMemory(item: Record<string, unknown>): EntityMemory {
    const memory: EntityMemory = { entityId: String(item.entity_id), observed: null, holders: {}, acted: new Map(), wouldAct: new Map(), forcedWouldAct: new Map() };
    for (const [key, value] of Object.entries(item)) {
      const target = key.startsWith('r_') ? memory.acted : key.startsWith('w_') ? memory.wouldAct : key.startsWith('f_') ? memory.forcedWouldAct : null;
      if (target) {
        const parsed = priorActionSchema.safeParse(value);
        if (parsed.success) target.set(parsed.data.rule_id, parsed.data);
      }
    }
    const observed = observedSchema.safeParse(item.observed);
    if (observed.success) memory.observed = observed.data;
    for (const cls of HELD_CLASSES) {
      const holder = holderSchema.safeParse(item[`holder_${cls}`]);
      if (holder.success) memory.holders[cls] = holder.data;
    }
    return memory;
  }

  /**
   * Apply memory updates, one item per entity and no expiry (a hold or a `forever` cooldown must
   * outlive the trail's retention). A rule's action is always remembered; an observation and its
   * holder only replace an older one (`at_ms`), so a slow concurrent run cannot overwrite newer
   * knowledge with what it read before.
   *
   * One UpdateItem per entity where it can be: an entity's remembered actions ride on its one
   * conditional observation; when that condition fails (newer knowledge is stored), the actions
   * are written alone, so they are remembered whatever the condition says.
   */
  async updateEntityMemories(accountId: string, updates: readonly MemoryUpdate[]): Promise<void> {
    const key = (entityId: string) => ({ [TABLE_KEYS.partitionKey]: k.state(accountId, entityId), [TABLE_KEYS.sortKey]: 'STATE' });
    const byEntity = new Map<string, { remembers: Map<string, NonNullable<MemoryUpdate['remember']>>; observations: MemoryUpdate[] }>();
    for (const update of updates) {
      let entry = byEntity.get(update.entityId);
      if (!entry) {
        entry = { remembers: new Map(), observations: [] };
        byEntity.set(update.entityId, entry);
      }
      if (update.remember) {
        const action = update.remember;
        // One attribute per (kind, rule): a later update of the same one replaces an earlier.
        entry.remembers.set(`${update.forced ? 'f' : action.outcome === 'acted' ? 'r' : 'w'}_${action.rule_id}`, action);
      }
      if (update.observed || update.holder) entry.observations.push(update);
    }
    const rememberParts = (remembers: ReadonlyMap<string, unknown>): { sets: string[]; names: Record<string, string>; values: Record<string, unknown> } => {
      const sets: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      [...remembers].forEach(([attribute, action], i) => {
        sets.push(`#a${i} = :a${i}`);
        names[`#a${i}`] = attribute;
        values[`:a${i}`] = action;
      });
      return { sets, names, values };
    };
    const writeRemembers = async (entityId: string, remembers: ReadonlyMap<string, unknown>): Promise<void> => {
      const parts = rememberParts(remembers);
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key(entityId),
            UpdateExpression: `SET ${[...parts.sets, 'entity_id = :entity', '#type = :type'].join(', ')} REMOVE expires_at`,
            ExpressionAttributeNames: { ...parts.names, '#type': 'type' },
            ExpressionAttributeValues: { ...parts.values, ':entity': entityId, ':type': 'entity' },
          }),
        ),
      );
    };
    /** An observation (and holder), only over older knowledge; with the entity's remembered actions when given. Whether it was applied. */
    const writeObservation = (update: MemoryUpdate, remembers: ReadonlyMap<string, unknown>): Promise<boolean> => {
      const held = update.holder?.holder;
      const at = update.observed?.at_ms ?? (held && 'at_ms' in held ? held.at_ms : this.clock.nowMs());
      const parts = rememberParts(remembers);
      const sets = [...parts.sets, 'entity_id = :entity', '#type = :type', 'memory_at_ms = :at'];
      const values: Record<string, unknown> = { ...parts.values, ':entity': update.entityId, ':type': 'entity', ':at': at };
      if (update.observed) {
        sets.push('observed = :observed');
        values[':observed'] = update.observed;
      }
      if (update.holder) {
        sets.push(`holder_${update.holder.cls} = :holder`);
        values[':holder'] = update.holder.holder;
      }
      return this.conditional('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key(update.entityId),
            UpdateExpression: `SET ${sets.join(', ')} REMOVE expires_at`,
            ConditionExpression: 'attribute_not_exists(memory_at_ms) OR memory_at_ms <= :at',
            ExpressionAttributeNames: { ...parts.names, '#type': 'type' },
            ExpressionAttributeValues: values,
          }),
        ),
      );
    };
    const write = async ([entityId, { remembers, observations }]: [string, { remembers: Map<string, NonNullable<MemoryUpdate['remember']>>; observations: MemoryUpdate[] }]): Promise<void> => {
      const [first, ...rest] = observations;
      if (first === undefined) {
        if (remembers.size > 0) await writeRemembers(entityId, remembers);
      } else if (!(await writeObservation(first, remembers)) && remembers.size > 0) {
        // Newer knowledge is stored: the observation is not applied, the actions still are.
        await writeRemembers(entityId, remembers);
      }
      await Promise.all(rest.map((update) => writeObservation(update, new Map())));
    };
    await forEachConcurrent([...byEntity], 16, write);
  }

  // ---- occurrences and runs ---------------------------------------------------------------------

  /**
   * Claim a scheduled occurrence for a run. A completed occurrence is never run again (a
   * redelivery); a running one with a live lease is left to its owner (a concurrent delivery);
   * a failed one, or one whose owner's lease ran out, is taken over.
   */
  async claimOccurrence(accountId: string, scheduleId: string, scheduledTime: string, mode: RunMode, runId: string, leaseUntilMs: number): Promise<OccurrenceClaim> {
    const key = { [TABLE_KEYS.partitionKey]: k.occurrence(accountId, scheduleId, scheduledTime, mode), [TABLE_KEYS.sortKey]: 'CLAIM' };
    let previous: Record<string, unknown> | undefined;
    const ok = await this.conditional('PutItem', async () => {
      const output = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, type: 'claim', run_id: runId, status: 'running', lease_until_ms: leaseUntilMs, schedule_id: scheduleId, scheduled_time: scheduledTime, mode, expires_at: this.expiresAt() },
          ConditionExpression: 'attribute_not_exists(#pk) OR #status = :failed OR (#status = :running AND lease_until_ms < :now)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#status': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed', ':running': 'running', ':now': this.realClock.nowMs() },
          ReturnValues: 'ALL_OLD',
        }),
      );
      previous = output.Attributes;
    });
    if (ok) return { status: previous ? 'taken_over' : 'claimed' };
    const existing = await this.send('GetItem', () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
    const item = existing.Item ?? {};
    return { status: item.status === 'completed' ? 'completed' : 'in_progress', runId: String(item.run_id ?? 'unknown') };
  }

  async finishOccurrence(accountId: string, scheduleId: string, scheduledTime: string, mode: RunMode, runId: string, status: 'completed' | 'failed'): Promise<boolean> {
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.occurrence(accountId, scheduleId, scheduledTime, mode), [TABLE_KEYS.sortKey]: 'CLAIM' },
          UpdateExpression: 'SET #status = :status',
          ConditionExpression: 'run_id = :run',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status, ':run': runId },
        }),
      ),
    );
  }

  async putRunSummary(summary: RunSummary): Promise<void> {
    const acct = summary.account_id;
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...summary,
            [TABLE_KEYS.partitionKey]: k.run(acct, summary.run_id),
            [TABLE_KEYS.sortKey]: 'SUMMARY',
            type: 'run',
            [INDEXES.byRun.pk]: k.run(acct, summary.run_id),
            [INDEXES.byRun.sk]: '~summary',
            [INDEXES.byTime.pk]: `A#${acct}#RUNS#${summary.started_at.slice(0, 7)}`,
            [INDEXES.byTime.sk]: `${summary.started_at}#${summary.run_id}`,
          },
        }),
      ),
    );
  }

  async getRunSummary(accountId: string, runId: string): Promise<RunSummary | null> {
    const output = await this.send('GetItem', () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: k.run(accountId, runId), [TABLE_KEYS.sortKey]: 'SUMMARY' } })));
    return output.Item ? this.parseItem(runSummarySchema, output.Item) : null;
  }

  /** Run summaries newest first. */
  async listRuns(accountId: string, options: { sinceMs?: number; untilMs?: number; limit?: number } = {}): Promise<RunSummary[]> {
    const since = options.sinceMs ?? this.clock.nowMs() - 31 * 86_400_000;
    const until = options.untilMs ?? this.clock.nowMs() + MONTH_MS;
    const out: RunSummary[] = [];
    for (const month of monthsBetween(since, until)) {
      const items = await this.queryAll(
        {
          TableName: this.tableName,
          IndexName: INDEXES.byTime.name,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#pk': INDEXES.byTime.pk, '#sk': INDEXES.byTime.sk },
          ExpressionAttributeValues: { ':pk': `A#${accountId}#RUNS#${month.slice(0, 7)}`, ':lo': new Date(since).toISOString(), ':hi': `${new Date(until).toISOString()}~` },
          ScanIndexForward: false,
        },
        (options.limit ?? 50) - out.length,
      );
      for (const item of items) {
        const parsed = runSummarySchema.safeParse(item);
        if (parsed.success) out.push(parsed.data);
      }
      if (out.length >= (options.limit ?? 50)) break;
    }
    return out;
  }

  // ---- API capabilities (probed once, cached for a day) ---------------------------------------------

  /** What the API was found to offer in a wire profile, while the finding is fresh. */
  async getCapabilities(accountId: string, profile: string): Promise<CapabilitiesRecord | null> {
    const output = await this.send('GetItem', () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: k.capabilities(accountId, profile), [TABLE_KEYS.sortKey]: 'CAPABILITIES' } })));
    const parsed = capabilitiesRecordSchema.safeParse(output.Item);
    if (!parsed.success || parsed.data.expires_at <= Math.floor(this.clock.nowMs() / 1000)) return null;
    return parsed.data;
  }

  async putCapabilities(accountId: string, profile: string, record: Omit<CapabilitiesRecord, 'expires_at' | 'checked_at_ms'>, ttlSeconds: number): Promise<void> {
    const now = this.clock.nowMs();
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [TABLE_KEYS.partitionKey]: k.capabilities(accountId, profile), [TABLE_KEYS.sortKey]: 'CAPABILITIES', type: 'capabilities', ...record, checked_at_ms: now, expires_at: Math.floor(now / 1000) + ttlSeconds },
        }),
      ),
    );
  }

  // ---- request ledger (the API budget across processes) -----------------------------------------

  /** Add a writer's (one engine process's) requests, counted per minute (engine clock), to the key's ledger. */
  async recordRequests(accountId: string, keyFingerprint: string, writerId: string, perMinute: ReadonlyMap<number, number>): Promise<void> {
    for (const [minuteMs, count] of perMinute) {
      if (count <= 0) continue;
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [TABLE_KEYS.partitionKey]: k.ledger(accountId, keyFingerprint), [TABLE_KEYS.sortKey]: `${new Date(minuteMs).toISOString()}#${writerId}` },
            UpdateExpression: 'ADD #count :n SET expires_at = :exp, #type = :type',
            ExpressionAttributeNames: { '#count': 'count', '#type': 'type' },
            ExpressionAttributeValues: { ':n': count, ':exp': Math.floor(minuteMs / 1000) + 2 * 3_600, ':type': 'ledger' },
          }),
        ),
      );
    }
  }

  /** Requests recorded for the key in the last hour: per minute and writer. */
  async recentRequests(accountId: string, keyFingerprint: string): Promise<{ minuteMs: number; writerId: string; count: number }[]> {
    const now = this.clock.nowMs();
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk > :since',
      ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
      ExpressionAttributeValues: { ':pk': k.ledger(accountId, keyFingerprint), ':since': new Date(now - 3_600_000).toISOString() },
    });
    return items.map((item) => {
      const [minute = '', writerId = ''] = String(item[TABLE_KEYS.sortKey]).split('#');
      return { minuteMs: Date.parse(minute), writerId, count: typeof item.count === 'number' ? item.count : 0 };
    });
  }

  // ---- repeats (repeats.ts): runs per rule, and the rules' repeat ledgers ---------------------------

  /**
   * The rules' run counts and repeat ledgers (default: of every rule ever counted): one BatchGetItem
   * for the counts and every ledger's first shard, and one more for the other shards of ledgers
   * that have more than one.
   */
  async repeatLedgers(accountId: string, ruleIds?: readonly string[]): Promise<Map<string, RuleLedger>> {
    const out = new Map<string, RuleLedger>();
    if (ruleIds?.length === 0) return out;
    const pk = k.repeats(accountId);
    const items = new Map<string, Record<string, unknown>>();
    const read = async (sortKeys: readonly string[]): Promise<void> => {
      for (let i = 0; i < sortKeys.length; i += 100) {
        await this.drain(
          'BatchGetItem',
          sortKeys.slice(i, i + 100).map((sk) => ({ [TABLE_KEYS.partitionKey]: pk, [TABLE_KEYS.sortKey]: sk })),
          async (keys) => {
            const output = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
            for (const item of output.Responses?.[this.tableName] ?? []) items.set(String(item[TABLE_KEYS.sortKey]), item);
            return (output.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
          },
        );
      }
    };
    // A shard that does not parse is left out: the ledger reads as incomplete, and its entities are written afresh.
    const shardAt = (ruleId: string, index: number): LedgerShard | null => {
      const item = items.get(k.ledgerShard(ruleId, index));
      const parsed = item ? ledgerShardSchema.safeParse({ ...item, entries: parseJson(item.entries) }) : null;
      return parsed?.success && parsed.data.rule_id === ruleId && parsed.data.shard === index ? parsed.data : null;
    };
    let rules = ruleIds ? [...new Set(ruleIds)] : [];
    await read(['RUNS', ...rules.map((ruleId) => k.ledgerShard(ruleId, 0))]);
    const runs = items.get('RUNS') ?? {};
    if (!ruleIds) {
      rules = Object.keys(runs).flatMap((name) => (name.startsWith('n_') ? [name.slice(2)] : []));
      await read(rules.map((ruleId) => k.ledgerShard(ruleId, 0)));
    }
    await read(rules.flatMap((ruleId) => Array.from({ length: Math.max(0, (shardAt(ruleId, 0)?.shards ?? 1) - 1) }, (_, i) => k.ledgerShard(ruleId, i + 1))));
    const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);
    for (const ruleId of rules) {
      const head = shardAt(ruleId, 0);
      const shards = head ? [head, ...Array.from({ length: head.shards - 1 }, (_, i) => shardAt(ruleId, i + 1)).filter((x): x is LedgerShard => x !== null)] : [];
      out.set(ruleId, assembleLedger(ruleId, num(runs[`n_${ruleId}`]) ?? 0, num(runs[`t_${ruleId}`]), shards));
    }
    return out;
  }

  /**
   * Write one shard of a rule's ledger if it is still as read: the version read (`expected.ver`),
   * or, for a shard not read, absent or left over from before the ledger's current resharding
   * (`expected.epoch`). False when another run rewrote it meanwhile.
   */
  async putLedgerShard(accountId: string, shard: LedgerShard, expected: { ver: string } | { epoch: string | null }): Promise<boolean> {
    const known = 'ver' in expected;
    return this.conditional('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: ledgerShardItem(accountId, shard),
          ConditionExpression: known ? 'ver = :ver' : 'attribute_not_exists(#pk) OR epoch <> :epoch',
          ExpressionAttributeNames: known ? undefined : { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: known ? { ':ver': expected.ver } : { ':epoch': expected.epoch ?? '' },
        }),
      ),
    );
  }

  /** Empty a rule's ledger whatever it holds (another run wrote it concurrently): its entities are written afresh next time. */
  async resetLedger(accountId: string, ruleId: string, runId: string): Promise<void> {
    const shard: LedgerShard = { rule_id: ruleId, shard: 0, shards: 1, epoch: `${runId}#reset`, ver: runId, entries: {} };
    await this.send('PutItem', () => this.doc.send(new PutCommand({ TableName: this.tableName, Item: ledgerShardItem(accountId, shard) })));
  }

  /**
   * Count one run of each rule (an atomic ADD, so concurrent runs both count), noting its engine
   * time; returns each rule's count before, so a run can tell another counted meanwhile.
   */
  async countRuleRuns(accountId: string, ruleIds: readonly string[], nowMs: number): Promise<Map<string, number>> {
    const before = new Map<string, number>();
    const unique = [...new Set(ruleIds)];
    for (let i = 0; i < unique.length; i += RUN_COUNTS_PER_UPDATE) {
      const chunk = unique.slice(i, i + RUN_COUNTS_PER_UPDATE);
      const names: Record<string, string> = { '#type': 'type' };
      chunk.forEach((ruleId, j) => {
        names[`#n${j}`] = `n_${ruleId}`;
        names[`#t${j}`] = `t_${ruleId}`;
      });
      const output = await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [TABLE_KEYS.partitionKey]: k.repeats(accountId), [TABLE_KEYS.sortKey]: 'RUNS' },
            UpdateExpression: `ADD ${chunk.map((_, j) => `#n${j} :one`).join(', ')} SET #type = :type, ${chunk.map((_, j) => `#t${j} = :now`).join(', ')}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':one': 1, ':now': nowMs, ':type': 'repeat_runs' },
            ReturnValues: 'UPDATED_OLD',
          }),
        ),
      );
      for (const ruleId of chunk) {
        const old: unknown = output.Attributes?.[`n_${ruleId}`];
        before.set(ruleId, typeof old === 'number' ? old : 0);
      }
    }
    return before;
  }

  /** Write an ended streak's tally on its first record, if that record is still there. */
  async closeStreak(accountId: string, decisionId: string, tally: RepeatTally): Promise<boolean> {
    return this.conditional('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: k.decision(accountId, decisionId), [TABLE_KEYS.sortKey]: 'DECISION' },
          UpdateExpression: 'SET repeats = :tally',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':tally': tally },
        }),
      ),
    );
  }
}
