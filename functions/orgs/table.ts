// The registry of organizations on AWS: items of the audit table (layout in functions/audit/table.ts).
//
//   pk = A#<ad_account_id>#ORG   sk = REGISTRY   the org's entry, under its ad account's prefix like
//                                                everything else recorded for it; also in the byTime
//                                                index under gsi4pk = ORGS, gsi4sk = <org_id> (sparse),
//                                                so listing every org is one paged Query, never a Scan
//   pk = ORG#<org_id>            sk = NAME       the name guard: which ad account an org_id names
//
// One org per ad account (its records, claims and ledger live under that account's prefix) and one
// ad account per org_id. DynamoDB would write the two items in one TransactWriteItems; dynalite (the
// local and test store) has no transactions, so `add` writes the guard first and the entry second,
// each conditional, and takes back its guard when the entry is refused. A guard left by an `add`
// that died in between names an account with no entry of that org: a later `add` of the same
// org_id takes it over once it is older than GUARD_LEASE_MS (so a concurrent `add` is refused,
// never overtaken).
//
// On AWS an entry needs its ad account (the CLI resolves it with the org's key before adding) and
// its key in Secrets Manager (`api_key_secret_id`; the worker's role may read only secrets under
// the deployment's prefix); `api_key_env` and `rules_dir` are local-only and refused here. The
// registry never holds a key.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { AuditTableMissingError } from '../audit/errors';
import { INDEXES, TABLE_KEYS } from '../audit/table';
import { systemClock, type Clock } from '../shared/clock';
import { describeIssues } from '../shared/issues';
import { DuplicateOrgError, OrgRegistryError, UnknownOrgError } from './errors';
import type { OrgRegistry } from './registry';
import { orgEntrySchema, type OrgEntry } from './schema';

/** The byTime index partition that lists every org (no decision or run key starts without `A#`). */
export const ORGS_INDEX_PK = 'ORGS';
/** How old a name guard without its entry must be before another `add` may take it over. */
export const GUARD_LEASE_MS = 60_000;

const ENTRY_FIELDS = ['org_id', 'api_key_env', 'api_key_secret_id', 'rules_dir', 'rule_ids', 'ad_account_id', 'enabled'] as const;
const index = INDEXES.byTime;

export const orgKeys = {
  entry: (adAccountId: string) => ({ [TABLE_KEYS.partitionKey]: `A#${adAccountId}#ORG`, [TABLE_KEYS.sortKey]: 'REGISTRY' }),
  guard: (orgId: string) => ({ [TABLE_KEYS.partitionKey]: `ORG#${orgId}`, [TABLE_KEYS.sortKey]: 'NAME' }),
};

/** An entry the registry table holds but this version cannot use (named by its key, with why). */
export interface InvalidOrgItem {
  key: string;
  org_id: string | null;
  problems: string[];
}

/** What an entry on AWS must be beyond the orgs file's schema; empty when it may be served. */
export function awsEntryProblems(entry: OrgEntry): string[] {
  const problems: string[] = [];
  if (entry.ad_account_id === undefined) problems.push('ad_account_id: required on AWS (the CLI resolves it with the org\'s key: GET /ad_account)');
  if (entry.api_key_secret_id === undefined) problems.push('api_key_secret_id: required on AWS (the key lives in a Secrets Manager secret; api_key_env is for local use)');
  if (entry.rules_dir !== undefined) problems.push('rules_dir: not available on AWS (the deployment\'s rules ship inside it; narrow them with rule_ids)');
  return problems;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export interface TableOrgRegistryOptions {
  tableName: string;
  client: DynamoDBClient;
  clock?: Clock;
  /** Items per Query page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
}

export class TableOrgRegistry implements OrgRegistry {
  readonly describe: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly clock: Clock;

  constructor(private readonly options: TableOrgRegistryOptions) {
    this.describe = `the organizations registry in the table ${options.tableName}`;
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.clock = options.clock ?? systemClock;
  }

  // ---- the one translation place ----------------------------------------------------------------

  private async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') throw new AuditTableMissingError(this.options.tableName, { cause: error });
      throw new OrgRegistryError(`${this.describe}: ${operation} failed: ${errorName(error)}: ${error instanceof Error ? error.message : String(error)}`, null, { cause: error });
    }
  }

  /** A conditional write: a failed condition is `false`. */
  private async conditional(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.send(operation, run);
      return true;
    } catch (error) {
      if (error instanceof OrgRegistryError && errorName(error.cause) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async get(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const output = await this.send('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true })));
    return output.Item;
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** Every entry, valid or not: one paged Query of the sparse ORGS partition of the byTime index. */
  async read(): Promise<{ orgs: OrgEntry[]; invalid: InvalidOrgItem[] }> {
    const orgs: OrgEntry[] = [];
    const invalid: InvalidOrgItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.options.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.pk },
        ExpressionAttributeValues: { ':pk': ORGS_INDEX_PK },
        ExclusiveStartKey: start,
        Limit: this.options.pageSize,
      };
      const page = await this.send('Query', () => this.doc.send(new QueryCommand(input)));
      for (const item of page.Items ?? []) {
        const parsed = parseItem(item);
        if ('problems' in parsed) invalid.push(parsed);
        else orgs.push(parsed.entry);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    orgs.sort((a, b) => a.org_id.localeCompare(b.org_id));
    return { orgs, invalid };
  }

  /** Every org, sorted by org_id; an entry this version cannot use is an error naming it. */
  async list(): Promise<OrgEntry[]> {
    const { orgs, invalid } = await this.read();
    if (invalid.length > 0) throw new OrgRegistryError(`${this.describe} has entries that cannot be served: ${invalid.map((i) => `${i.key} (${i.problems.join('; ')})`).join(', ')}.`, invalid[0]?.org_id ?? null);
    return orgs;
  }

  /** The org serving an ad account (strongly consistent), or null. */
  async byAccount(adAccountId: string): Promise<OrgEntry | null> {
    const item = await this.get(orgKeys.entry(adAccountId));
    if (!item) return null;
    const parsed = parseItem(item);
    if ('problems' in parsed) throw new OrgRegistryError(`${this.describe}: the entry ${parsed.key} cannot be served: ${parsed.problems.join('; ')}.`, parsed.org_id);
    return parsed.entry;
  }

  /** The org named `orgId` (through its name guard, strongly consistent), or null. */
  async byId(orgId: string): Promise<OrgEntry | null> {
    const guard = await this.get(orgKeys.guard(orgId));
    const account = typeof guard?.ad_account_id === 'string' ? guard.ad_account_id : undefined;
    if (account === undefined) return null;
    const entry = await this.byAccount(account);
    return entry?.org_id === orgId ? entry : null;
  }

  // ---- writes ------------------------------------------------------------------------------------

  async add(input: OrgEntry): Promise<void> {
    const parsed = orgEntrySchema.safeParse(input);
    if (!parsed.success) throw new OrgRegistryError(`${this.describe}: not an org entry: ${describeIssues(parsed.error.issues, { root: '(org)' }).join('; ')}.`, input.org_id);
    const entry = parsed.data;
    const problems = awsEntryProblems(entry);
    const account = entry.ad_account_id;
    if (problems.length > 0 || account === undefined) throw new OrgRegistryError(`Organization "${entry.org_id}" cannot be served on AWS: ${problems.join('; ')}.`, entry.org_id);
    const nowMs = this.clock.nowMs();
    const token = randomBytes(8).toString('hex');

    await this.takeName(entry.org_id, account, token, nowMs);
    const item = {
      ...orgKeys.entry(account),
      type: 'org',
      [index.pk]: ORGS_INDEX_PK,
      [index.sk]: entry.org_id,
      ...entry,
      added_at: new Date(nowMs).toISOString(),
      updated_at: new Date(nowMs).toISOString(),
    };
    const written = await this.conditional('PutItem', () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } })));
    if (written) return;
    const existing = await this.byAccount(account).catch(() => null);
    if (existing?.org_id !== entry.org_id) {
      // The account is another org's: our guard names nothing; take it back (only if still ours).
      await this.conditional('DeleteItem', () => this.doc.send(new DeleteCommand({ TableName: this.options.tableName, Key: orgKeys.guard(entry.org_id), ConditionExpression: '#token = :token', ExpressionAttributeNames: { '#token': 'token' }, ExpressionAttributeValues: { ':token': token } })));
    }
    const other = existing?.org_id ?? '(unreadable entry)';
    throw new DuplicateOrgError(
      existing?.org_id === entry.org_id ? `Organization "${entry.org_id}" is already registered (ad account ${account}).` : `Ad account ${account} is already served by organization "${other}": one organization per ad account (its records, claims and request ledger are kept under the account). Disable "${other}" first, or check which organization this key belongs to.`,
      entry.org_id,
      other,
    );
  }

  /** Write the name guard of `orgId` → `account`, or refuse: the name is taken (or being taken). */
  private async takeName(orgId: string, account: string, token: string, nowMs: number): Promise<void> {
    const guard = { ...orgKeys.guard(orgId), type: 'org_name', org_id: orgId, ad_account_id: account, token, written_at_ms: nowMs };
    const put = (condition: { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> }) =>
      this.conditional('PutItem', () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: guard, ...condition })));
    if (await put({ ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } })) return;
    const current = await this.get(orgKeys.guard(orgId));
    const currentAccount = typeof current?.ad_account_id === 'string' ? current.ad_account_id : null;
    const entry = currentAccount === null ? null : await this.byAccount(currentAccount).catch(() => null);
    if (entry?.org_id === orgId) throw new DuplicateOrgError(`Organization "${orgId}" is already registered (ad account ${currentAccount ?? '?'}); disable it with \`thrad-rules orgs disable ${orgId}\`.`, orgId, orgId);
    const writtenAt = typeof current?.written_at_ms === 'number' ? current.written_at_ms : 0;
    if (nowMs - writtenAt < GUARD_LEASE_MS) throw new DuplicateOrgError(`Organization "${orgId}" is being added by another process right now; try again in a minute.`, orgId, orgId);
    // A guard an `add` left when it died before writing the entry: take it over (only as it was read).
    if (!(await put({ ConditionExpression: '#token = :old', ExpressionAttributeNames: { '#token': 'token' }, ExpressionAttributeValues: { ':old': current?.token ?? null } }))) throw new DuplicateOrgError(`Organization "${orgId}" is being added by another process right now; try again in a minute.`, orgId, orgId);
  }

  async setEnabled(orgId: string, enabled: boolean): Promise<OrgEntry> {
    const current = await this.byId(orgId);
    const account = current?.ad_account_id;
    if (!current || account === undefined) throw await this.unknown(orgId);
    const output = await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: orgKeys.entry(account),
          UpdateExpression: 'SET enabled = :enabled, updated_at = :now',
          ConditionExpression: 'org_id = :id',
          ExpressionAttributeValues: { ':enabled': enabled, ':now': new Date(this.clock.nowMs()).toISOString(), ':id': orgId },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    ).catch(async (error: unknown) => {
      if (error instanceof OrgRegistryError && errorName(error.cause) === 'ConditionalCheckFailedException') throw await this.unknown(orgId);
      throw error;
    });
    const parsed = parseItem(output.Attributes ?? {});
    if ('problems' in parsed) throw new OrgRegistryError(`${this.describe}: the entry of "${orgId}" cannot be served: ${parsed.problems.join('; ')}.`, orgId);
    return parsed.entry;
  }

  /**
   * An org's ad account is its records' prefix and its entry's key: it is fixed when the org is
   * added. The same account again is a no-op; another is refused (the org's secret would then hold
   * another organization's key, which must be fixed, not followed).
   */
  async setAccount(orgId: string, adAccountId: string): Promise<void> {
    const current = await this.byId(orgId);
    if (!current) throw await this.unknown(orgId);
    if (current.ad_account_id === adAccountId) return;
    throw new OrgRegistryError(`Organization "${orgId}" is registered for ad account ${current.ad_account_id ?? '?'}, but its key answers for ${adAccountId}: the secret ${current.api_key_secret_id ?? '?'} holds another organization's key. Put ${orgId}'s key in it, or disable ${orgId} and add that organization under its own name.`, orgId);
  }

  private async unknown(orgId: string): Promise<UnknownOrgError> {
    const known = (await this.read()).orgs.map((o) => o.org_id);
    return new UnknownOrgError(`${this.describe}: no organization "${orgId}"; it has ${known.join(', ') || 'none'}.`, orgId, known);
  }
}

/** An item of the registry → its entry, or why it cannot be served. */
function parseItem(item: Record<string, unknown>): { entry: OrgEntry } | InvalidOrgItem {
  const key = `${String(item[TABLE_KEYS.partitionKey])}/${String(item[TABLE_KEYS.sortKey])}`;
  const orgId = typeof item.org_id === 'string' ? item.org_id : null;
  const fields = Object.fromEntries(ENTRY_FIELDS.filter((f) => item[f] !== undefined).map((f) => [f, item[f]]));
  const parsed = orgEntrySchema.safeParse(fields);
  if (!parsed.success) return { key, org_id: orgId, problems: describeIssues(parsed.error.issues, { root: '(org)' }) };
  const problems = awsEntryProblems(parsed.data);
  if (item[index.sk] !== parsed.data.org_id || item[TABLE_KEYS.partitionKey] !== orgKeys.entry(parsed.data.ad_account_id ?? '')[TABLE_KEYS.partitionKey]) problems.push('its keys do not match its org_id and ad_account_id');
  if (problems.length > 0) return { key, org_id: orgId, problems };
  return { entry: parsed.data };
}
