// The DynamoDB client the audit store is given, made in one place for every deployment (the
// Lambda, the local runner, the CLI, the tests). It is the SDK's client without the SDK's logger
// middleware: no logger is ever configured here (the SDK's default drops everything), yet that
// middleware passes every request's input, whole items included, through the SDK's redaction
// filter before handing it to the logger that drops it. For a run that writes thousands of
// records that is seconds of copying for nothing. The store's own errors say what failed.
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** The SDK middleware that logs each command's filtered input and output to the client's logger. */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

export function auditDynamoClient(config: Omit<DynamoDBClientConfig, 'logger'> = {}): DynamoDBClient {
  const client = new DynamoDBClient(config);
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
