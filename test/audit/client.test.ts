// The audit store's DynamoDB client: the SDK's client without its logger middleware (which copied
// every input through the redaction filter for a logger that drops it), still a working client.
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDynamoClient, SDK_LOGGER_MIDDLEWARE } from '../../functions/audit/client';
import { AuditStore } from '../../functions/audit/store';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';

describe('auditDynamoClient', () => {
  let dynamo: EmbeddedDynamo;
  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('leaves out the SDK logger middleware that a plain client has', () => {
    const names = (client: DynamoDBClient): string[] => client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);
    expect(names(new DynamoDBClient({ region: 'us-east-1' }))).toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(auditDynamoClient({ region: 'us-east-1' }))).not.toContain(SDK_LOGGER_MIDDLEWARE);
  });

  it('writes and reads items as the SDK client does', async () => {
    const client = auditDynamoClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await new AuditStore({ tableName: 'client-test', client }).ensureTable();
    const item = { pk: { S: 'A#1#D#d_1' }, sk: { S: 'DECISION' }, reason: { S: 'matched' }, observed: { M: { 'cpc@today': { N: '3.1' } } } };
    await client.send(new PutItemCommand({ TableName: 'client-test', Item: item }));
    const read = await client.send(new GetItemCommand({ TableName: 'client-test', Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }));
    expect(read.Item).toEqual(item);
    client.destroy();
  });
});
