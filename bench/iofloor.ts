// The I/O floor of one engine cycle: the same API requests (replayed from the sandbox's request
// log: the same list and insights pages, the same status calls) and the same DynamoDB item writes
// (captured from the engine's own client, item for item and byte for byte), done by the cheapest
// code there is, raw fetch and BatchWriteItem, in the same bench run against the same servers.
// `cycle_seconds / cycle_io_floor_seconds` is then the engine's own overhead as a ratio.
//
// What the floor keeps from the engine's shape, because the work itself imposes it:
//   - a page is fetched after the one before it (a cursor chain is serial); list pages one after
//     another, and insights chains READ_CONCURRENCY at a time, as the engine reads them when its
//     budget allows (it always does here; the floor never waits on a listing read as it may);
//   - status calls, after the reads, as many at once as the engine allows itself (they find the
//     entities as the engine's calls left them, so the sandbox refuses them: a smaller answer);
//   - the item writes after the calls, 25 to a request, as many requests in flight as the audit
//     store allows itself. A conditional put or an update of the engine is here a plain put of
//     the same attributes: the floor pays for no condition, no read-modify-write.
// Nothing is parsed, validated or decided: bodies are read to their end and dropped.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { AuditStore } from '../functions/audit/store';
import { TABLE_KEYS } from '../functions/audit/table';
import { READ_CONCURRENCY } from '../functions/engine/reads';
import { forEachConcurrent } from '../functions/shared/concurrency';
import { WIRE_PROFILES } from '../functions/thrad/wire';

/** One request as the sandbox logged it (`GET /_sandbox/requests`). */
export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  idempotency_key: string | null;
}

type Item = Record<string, AttributeValue>;

/** The item writes a DynamoDB client sent, as plain items (a batch counts each of its puts). */
export interface WriteCapture {
  /** Stop capturing (later writes, e.g. of the bench itself, are not the cycle's) and read out what was captured, in the order sent. */
  stop(): Item[];
  /** The same, each item with the tag `tagOf` gave when its request was sent. */
  stopTagged(): { item: Item; tag: string }[];
}

/** Status calls post an empty JSON object; the floor replays only what it can replay exactly. */
const STATUS_CALL = /\/(pause|activate|archive)$/;
const BATCH = 25;
const TARGET_PREFIX = 'DynamoDB_20120810.';

/**
 * The attributes an UpdateItem writes, by name: its key and every `SET path = :v` / `ADD path :v`.
 * A REMOVE writes nothing. An expression of another shape (functions, nested paths) is an error:
 * the floor must not silently write less than the engine did.
 */
export function updatedAttributes(input: { Key?: Item; UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item }): Item {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const item: Item = { ...input.Key };
  const name = (path: string): string => {
    if (!/^#?[A-Za-z0-9_]+$/.test(path)) throw new Error(`io floor: cannot replay the update path "${path}"`);
    return path.startsWith('#') ? (names[path] ?? path) : path;
  };
  const value = (placeholder: string): AttributeValue => {
    const v = values[placeholder];
    if (v === undefined) throw new Error(`io floor: the update names ${placeholder} without a value`);
    return v;
  };
  for (const clause of (input.UpdateExpression ?? '').split(/\b(?=SET |REMOVE |ADD |DELETE )/)) {
    const [verb = '', ...rest] = clause.trim().split(/\s+/);
    const body = rest.join(' ');
    if (verb === 'REMOVE' || body === '') continue;
    for (const part of body.split(',').map((p) => p.trim())) {
      const m = verb === 'SET' ? /^(\S+)\s*=\s*(:\w+)$/.exec(part) : verb === 'ADD' ? /^(\S+)\s+(:\w+)$/.exec(part) : null;
      if (!m) throw new Error(`io floor: cannot replay "${verb} ${part}"`);
      item[name(m[1])] = value(m[2]);
    }
  }
  return item;
}

/** The items one serialized request writes: PutItem's item, an UpdateItem's attributes, a BatchWriteItem's puts; none for a read. */
export function itemsWritten(operation: string, body: string): Item[] {
  switch (operation) {
    case 'PutItem':
      return [(JSON.parse(body) as { Item: Item }).Item];
    case 'UpdateItem':
      return [updatedAttributes(JSON.parse(body) as Parameters<typeof updatedAttributes>[0])];
    case 'BatchWriteItem': {
      const out: Item[] = [];
      for (const requests of Object.values((JSON.parse(body) as { RequestItems: Record<string, WriteRequest[]> }).RequestItems)) {
        for (const request of requests) {
          if (request.DeleteRequest) throw new Error('io floor: a batch delete cannot be replayed as a put');
          if (request.PutRequest?.Item) out.push(request.PutRequest.Item);
        }
      }
      return out;
    }
    case 'DeleteItem':
    case 'TransactWriteItems':
      throw new Error(`io floor: cannot replay ${operation}`);
    default:
      return [];
  }
}

/**
 * Capture every item write a client sends (PutItem, UpdateItem, BatchWriteItem puts), from its
 * middleware stack (DocumentClients made `from` this client share it). What is kept during the
 * cycle is the request body the SDK serialized anyway (a reference: no copy, no work on the
 * engine's clock, and bytes rather than objects for the engine's heap); it is parsed into items
 * only when the capture stops.
 */
export function captureItemWrites(client: DynamoDBClient, tagOf: () => string = () => '', options: { spillTo?: string } = {}): WriteCapture {
  const bodies: { operation: string; body: string | Uint8Array; tag: string }[] = [];
  // With `spillTo`, bodies go to that file as JSON lines, a few thousand at a time, so an hour of
  // writes does not stay on the engine's heap (its peak memory is a figure of its own).
  const spill = options.spillTo;
  if (spill !== undefined) writeFileSync(spill, '');
  const flush = (): void => {
    if (spill === undefined || bodies.length === 0) return;
    appendFileSync(spill, bodies.map((b) => JSON.stringify({ operation: b.operation, tag: b.tag, body: bodyText(b.body) })).join('\n') + '\n');
    bodies.length = 0;
  };
  const name = `ioFloorCapture_${Math.random().toString(36).slice(2)}`;
  client.middlewareStack.add(
    (next) => async (args) => {
      // The build step runs after serialization: the request is the one that goes on the wire.
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const target = request.headers?.['x-amz-target'] ?? '';
      const body = request.body;
      if (target.startsWith(TARGET_PREFIX)) {
        if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new Error(`io floor: cannot capture a ${target} body of type ${typeof body}`);
        bodies.push({ operation: target.slice(TARGET_PREFIX.length), body, tag: tagOf() });
        if (bodies.length >= SPILL_EVERY) flush();
      }
      return next(args);
    },
    { step: 'build', name },
  );
  const all = (): { operation: string; body: string | Uint8Array; tag: string }[] => {
    client.middlewareStack.remove(name);
    if (spill === undefined) return bodies;
    flush();
    return readFileSync(spill, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { operation: string; body: string; tag: string });
  };
  const read = (b: { operation: string; body: string | Uint8Array }): Item[] => itemsWritten(b.operation, bodyText(b.body));
  return {
    stop: () => all().flatMap(read),
    stopTagged: () => all().flatMap((b) => read(b).map((item) => ({ item, tag: b.tag }))),
  };
}

const SPILL_EVERY = 2_000;

function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

export interface IoFloorInput {
  /** The sandbox's origin (`http://127.0.0.1:<port>`); logged paths start with `/v1`. */
  sandboxUrl: string;
  apiKey: string;
  requests: readonly LoggedRequest[];
  /** A client of the same DynamoDB endpoint the engine wrote to. */
  dynamo: DynamoDBClient;
  /** A table the floor creates and writes to (the engine's holds its items already). */
  tableName: string;
  items: readonly Item[];
  /** The engine's status calls in flight at once. */
  actionConcurrency: number;
  /** The audit store's batch writes in flight at once. */
  writeConcurrency: number;
}

export interface IoFloorFigures {
  seconds: number;
  api_requests: number;
  item_writes: number;
  item_bytes: number;
}

/** One logged request again, with `apiKey`: a status call posts `{}`; the body is read to its end and dropped. */
export async function replayRequest(sandboxUrl: string, apiKey: string, request: LoggedRequest): Promise<void> {
  if (request.method !== 'GET' && !(request.method === 'POST' && STATUS_CALL.test(request.path))) throw new Error(`io floor: cannot replay ${request.method} ${request.path}`);
  return replay({ sandboxUrl, apiKey }, request);
}

async function replay(input: Pick<IoFloorInput, 'sandboxUrl' | 'apiKey'>, request: LoggedRequest): Promise<void> {
  const query = new URLSearchParams();
  for (const [key, values] of Object.entries(request.query)) for (const v of values) query.append(key, v);
  const qs = query.toString();
  const headers: Record<string, string> = { Authorization: `Bearer ${input.apiKey}`, Accept: 'application/json' };
  let body: string | undefined;
  if (request.method === 'POST') {
    headers['Content-Type'] = 'application/json';
    if (request.idempotency_key !== null) headers['Idempotency-Key'] = request.idempotency_key;
    body = '{}';
  }
  const response = await fetch(`${input.sandboxUrl}${request.path}${qs === '' ? '' : `?${qs}`}`, { method: request.method, headers, body });
  await response.arrayBuffer();
  // A status call finds the entity where the engine's call left it and is refused (400, "not
  // running"): the same request, key check, rate limit and lookup, a smaller answer. A read must succeed.
  if (request.method === 'GET' ? response.status !== 200 : response.status !== 200 && response.status !== 400) throw new Error(`io floor: ${request.method} ${request.path} answered ${response.status}`);
}

/** The cursor parameter of every wire profile: a page's query without it names the chain of pages it is in. */
const CURSOR_PARAMS = new Set(Object.values(WIRE_PROFILES).map((profile) => profile.insights.params.after));
const chainOf = (request: LoggedRequest): string => `${request.method} ${request.path} ${JSON.stringify(Object.entries(request.query).filter(([name]) => !CURSOR_PARAMS.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
const isInsights = (request: LoggedRequest): boolean => request.method === 'GET' && request.path.endsWith('/insights');

/**
 * Logged requests again in the engine's shape: in the order logged, except that each run of
 * insights pages is replayed as its chains (a query's pages, in order), READ_CONCURRENCY chains
 * at a time.
 */
export async function replayInShape(requests: readonly LoggedRequest[], send: (request: LoggedRequest) => Promise<void>): Promise<void> {
  for (let i = 0; i < requests.length; ) {
    const request = requests[i];
    if (!isInsights(request)) {
      await send(request);
      i += 1;
      continue;
    }
    const chains = new Map<string, LoggedRequest[]>();
    for (; i < requests.length && isInsights(requests[i]); i += 1) {
      const key = chainOf(requests[i]);
      const chain = chains.get(key) ?? [];
      chain.push(requests[i]);
      chains.set(key, chain);
    }
    await forEachConcurrent([...chains.values()], READ_CONCURRENCY, async (chain) => {
      for (const page of chain) await send(page);
    });
  }
}

export async function writeBatch(input: Pick<IoFloorInput, 'dynamo' | 'tableName'>, items: readonly Item[]): Promise<void> {
  let pending: WriteRequest[] = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt > 8) throw new Error(`io floor: ${pending.length} items left unprocessed`);
    const output = await input.dynamo.send(new BatchWriteItemCommand({ RequestItems: { [input.tableName]: pending } }));
    pending = output.UnprocessedItems?.[input.tableName] ?? [];
  }
}

/** Byte size of an item as DynamoDB counts it, roughly: names plus the JSON of the values. */
function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += name.length + JSON.stringify(value).length;
  return bytes;
}

/** Items 25 to a batch, in order; a batch never holds one key twice (DynamoDB refuses that), so a key seen again starts the next. */
export function batchesOf(items: readonly Item[]): Item[][] {
  const batches: Item[][] = [];
  let current: Item[] = [];
  let keys = new Set<string>();
  for (const item of items) {
    const key = JSON.stringify([item[TABLE_KEYS.partitionKey], item[TABLE_KEYS.sortKey]]);
    if (current.length === BATCH || keys.has(key)) {
      batches.push(current);
      current = [];
      keys = new Set();
    }
    current.push(item);
    keys.add(key);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export async function runIoFloor(input: IoFloorInput): Promise<IoFloorFigures> {
  for (const r of input.requests) {
    if (r.method !== 'GET' && !(r.method === 'POST' && STATUS_CALL.test(r.path))) throw new Error(`io floor: cannot replay ${r.method} ${r.path}`);
  }
  // Setup, not timed: the floor's own table, same keys and indexes as the audit table.
  await new AuditStore({ tableName: input.tableName, client: input.dynamo }).ensureTable();
  const batches = batchesOf(input.items);

  const started = process.hrtime.bigint();
  await replayInShape(input.requests.filter((r) => r.method === 'GET'), (request) => replay(input, request));
  await forEachConcurrent(
    input.requests.filter((r) => r.method === 'POST'),
    input.actionConcurrency,
    (request) => replay(input, request),
  );
  await forEachConcurrent(batches, input.writeConcurrency, (batch) => writeBatch(input, batch));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, api_requests: input.requests.length, item_writes: input.items.length, item_bytes: input.items.reduce((sum, item) => sum + itemBytes(item), 0) };
}
