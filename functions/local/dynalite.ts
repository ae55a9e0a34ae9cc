// An embedded DynamoDB-compatible server (dynalite) on 127.0.0.1, in memory or persisted to a
// folder: the local runner's audit store, and the tests'. The engine talks to it through the same
// AWS SDK code path as to DynamoDB.
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { create as createDynaliteStore } from 'dynalite/db';
import { auditDynamoClient } from '../audit/client';
import { StoreFolderLockedError } from './errors';

export interface EmbeddedDynamo {
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/** A DynamoDB client for a local endpoint (dummy credentials; any region). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return auditDynamoClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
}

/**
 * Open the folder's database once and close it again, so a folder another process holds is a
 * rejection here rather than an uncaught error thrown inside dynalite's first request
 * (`StoreFolderLockedError` when another process holds it).
 */
export async function checkFolderOpens(path: string): Promise<void> {
  const { db } = createDynaliteStore({ path });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if ((cause as { code?: unknown } | undefined)?.code === 'LEVEL_LOCKED') throw new StoreFolderLockedError({ cause: error });
    throw new Error((cause instanceof Error ? cause : (error as Error)).message, { cause: error });
  } finally {
    await db.close().catch(() => undefined);
  }
}

export async function startEmbeddedDynamo(options: { path?: string; port?: number } = {}): Promise<EmbeddedDynamo> {
  if (options.path) {
    mkdirSync(options.path, { recursive: true });
    await checkFolderOpens(options.path);
  }
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  return {
    endpoint,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
