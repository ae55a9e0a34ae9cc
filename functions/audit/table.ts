// The audit table's shape, in one place: the CDK stack and the local runner's `ensureTable`
// both build it from these constants, so the same keys and indexes exist on AWS and on dynalite.
//
// One table, every key starting with the ad account id (but the org name guard):
//   base     pk = A#<acct>#D#<decision_id>          sk = DECISION      a decision (also the intent)
//            pk = A#<acct>#RUN#<run_id>              sk = SUMMARY       a run summary
//            pk = A#<acct>#OCC#<schedule>#<time>     sk = CLAIM         a scheduled occurrence's claim
//            pk = A#<acct>#S#<entity_id>             sk = STATE         last automated actions on an entity
//            pk = A#<acct>#K#<key fingerprint>       sk = <minute>      requests made in that minute
//            pk = A#<acct>#REP                       sk = R#<rule>#<n>  a rule's repeat ledger, shard n (repeats.ts)
//            pk = A#<acct>#REP                       sk = RUNS          runs per rule (streak counts)
//            pk = A#<acct>#ORG                       sk = REGISTRY      the org serving this account (functions/orgs/table.ts)
//            pk = ORG#<org_id>                       sk = NAME          the org_id's name guard: which account it names
//                                                                       (the one key not under an account: org_ids are unique per table)
//   byEntity gsi1pk = A#<acct>#E#<entity_id>         gsi1sk = <evaluated_at>#<decision_id>
//   byRule   gsi2pk = A#<acct>#R#<rule_id>           gsi2sk = <evaluated_at>#<decision_id>
//   byRun    gsi3pk = A#<acct>#RUN#<run_id>          gsi3sk = <evaluated_at>#<decision_id>
//   byTime   gsi4pk = A#<acct>#M#<yyyy-mm>           gsi4sk = <evaluated_at>#<decision_id>   (decisions and run summaries by month)
//            gsi4pk = ORGS                           gsi4sk = <org_id>                        (sparse: every org's entry, one paged Query)
//   actions  gsi5pk = A#<acct>#ACT#<yyyy-mm>         gsi5sk = <evaluated_at>#<decision_id>   (sparse: acted, would_act, failed)
//   pending  gsi6pk = A#<acct>#PENDING               gsi6sk = <created_at>#<decision_id>      (sparse: intents awaiting an outcome)
// `expires_at` (Unix seconds) is the TTL attribute; reads ignore expired items.

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expires_at' } as const;

export const INDEXES = {
  byEntity: { name: 'byEntity', pk: 'gsi1pk', sk: 'gsi1sk' },
  byRule: { name: 'byRule', pk: 'gsi2pk', sk: 'gsi2sk' },
  byRun: { name: 'byRun', pk: 'gsi3pk', sk: 'gsi3sk' },
  byTime: { name: 'byTime', pk: 'gsi4pk', sk: 'gsi4sk' },
  actionsByTime: { name: 'actionsByTime', pk: 'gsi5pk', sk: 'gsi5sk' },
  pending: { name: 'pending', pk: 'gsi6pk', sk: 'gsi6sk' },
} as const;

export type IndexName = keyof typeof INDEXES;

export const DEFAULT_RETENTION_DAYS = 400;

/** CreateTable input for a local DynamoDB-compatible server (dynalite) or a test. */
export function createTableInput(tableName: string): {
  TableName: string;
  BillingMode: 'PAY_PER_REQUEST';
  AttributeDefinitions: { AttributeName: string; AttributeType: 'S' }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  GlobalSecondaryIndexes: { IndexName: string; KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[]; Projection: { ProjectionType: 'ALL' } }[];
} {
  const indexes = Object.values(INDEXES);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, ...indexes.flatMap((i) => [i.pk, i.sk])].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.pk, KeyType: 'HASH' as const },
        { AttributeName: i.sk, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}
