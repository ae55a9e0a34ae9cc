// The bench's I/O floor: what it captures from an engine cycle (every item written, by the
// engine's own client) and that its replay sends the same API requests and writes those items,
// against the sandbox and dynalite.
import { randomBytes } from 'node:crypto';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { batchesOf, captureItemWrites, replayInShape, runIoFloor, updatedAttributes, type LoggedRequest } from '../../bench/iofloor';
import { READ_CONCURRENCY } from '../../functions/engine/reads';
import { WIRE_PROFILES } from '../../functions/thrad/wire';
import { TABLE_KEYS } from '../../functions/audit/table';
import { KEY, engineFixture } from '../helpers/fixtures';
import { engineRules, rig, type Rig } from '../helpers/engine';

const S = (s: string): AttributeValue => ({ S: s });
const keyOf = (item: Record<string, AttributeValue>): string => `${item[TABLE_KEYS.partitionKey]?.S ?? ''}|${item[TABLE_KEYS.sortKey]?.S ?? ''}`;

describe('updatedAttributes', () => {
  it('writes the key and every SET and ADD target by name, and nothing for REMOVE', () => {
    const item = updatedAttributes({
      Key: { pk: S('A#1#S#c-1'), sk: S('STATE') },
      UpdateExpression: 'ADD #count :n SET expires_at = :exp, #type = :type REMOVE lease_until_ms',
      ExpressionAttributeNames: { '#count': 'count', '#type': 'type' },
      ExpressionAttributeValues: { ':n': { N: '3' }, ':exp': { N: '99' }, ':type': S('ledger') },
    });
    expect(item).toEqual({ pk: S('A#1#S#c-1'), sk: S('STATE'), count: { N: '3' }, expires_at: { N: '99' }, type: S('ledger') });
  });

  it.each([
    ['a function', 'SET a = list_append(a, :x)'],
    ['a nested path', 'SET a.b = :x'],
    ['a placeholder without a value', 'SET a = :missing'],
  ])('refuses %s rather than write less than the engine did', (_name, expression) => {
    expect(() => updatedAttributes({ Key: { pk: S('p'), sk: S('s') }, UpdateExpression: expression, ExpressionAttributeValues: { ':x': S('x') } })).toThrow(/io floor/);
  });
});

describe('batchesOf', () => {
  it('keeps the order, puts 25 to a batch, and never one key twice in a batch', () => {
    const items = Array.from({ length: 60 }, (_, i) => ({ pk: S(`k${i < 30 ? i : i - 30}`), sk: S('X') }));
    const batches = batchesOf(items);
    expect(batches.flat()).toEqual(items);
    expect(batches.map((b) => b.length)).toEqual([25, 25, 10]);
    for (const batch of batches) expect(new Set(batch.map(keyOf)).size).toBe(batch.length);
    // An intent and its outcome (one key written twice, one after the other) go in two batches.
    const intent = { pk: S('A#1#D#d_1'), sk: S('DECISION'), outcome: S('pending') };
    const other = { pk: S('A#1#D#d_2'), sk: S('DECISION') };
    const outcome = { pk: S('A#1#D#d_1'), sk: S('DECISION'), outcome: S('acted') };
    expect(batchesOf([intent, other, outcome])).toEqual([[intent, other], [outcome]]);
  });
});

describe('replayInShape', () => {
  it.each(Object.keys(WIRE_PROFILES) as (keyof typeof WIRE_PROFILES)[])('replays insights pages as chains, READ_CONCURRENCY at a time, and everything else alone in order (%s cursor)', async (profile) => {
    const cursor = WIRE_PROFILES[profile].insights.params.after;
    const get = (name: string, path: string, query: Record<string, string[]> = {}): LoggedRequest & { name: string } => ({ name, method: 'GET', path, query, idempotency_key: null });
    const insights = (name: string, window: string, after?: string) => get(name, '/v1/ad_account/insights', { window: [window], limit: ['50'], ...(after === undefined ? {} : { [cursor]: [after] }) });
    const requests = [
      get('list', '/v1/campaigns'),
      insights('a1', 'a'),
      insights('b1', 'b'),
      insights('a2', 'a', 'x'),
      insights('c1', 'c'),
      insights('a3', 'a', 'y'),
      get('account', '/v1/ad_account'),
      insights('d1', 'd'),
    ];
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    await replayInShape(requests, async (request) => {
      const { name } = request as LoggedRequest & { name: string };
      inFlight += 1;
      most = Math.max(most, inFlight);
      events.push(`start ${name}`);
      for (let i = 0; i < 3; i += 1) await Promise.resolve();
      events.push(`end ${name}`);
      inFlight -= 1;
    });
    const at = (event: string): number => events.indexOf(event);
    expect(events).toHaveLength(2 * requests.length);
    expect(most).toBe(READ_CONCURRENCY);
    // A chain's pages in order, each after the one before it ended.
    expect(at('start a2')).toBeGreaterThan(at('end a1'));
    expect(at('start a3')).toBeGreaterThan(at('end a2'));
    // Two chains at once: b runs beside a; c waits for a free slot.
    expect(at('start b1')).toBeLessThan(at('end a1'));
    expect(at('start c1')).toBeGreaterThan(Math.min(at('end a3'), at('end b1')));
    // Everything else alone, in the order logged.
    expect(events.slice(0, 2)).toEqual(['start list', 'end list']);
    expect(at('start account')).toBeGreaterThan(Math.max(at('end a3'), at('end b1'), at('end c1')));
    expect(at('start d1')).toBe(at('end account') + 1);
  });
});

describe('the floor of a cycle', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('captures every item the cycle wrote, and replays its requests and writes', async () => {
    r = await rig(engineFixture(), engineRules());
    const capture = captureItemWrites(r.dynamo.client);
    const { summary, decisions } = await r.engine().runCycle({ deadlineMs: Date.now() + 60_000, scheduledTime: '2026-03-10T15:00:00Z', trigger: 'manual' });
    const items = capture.stop();
    expect(summary.status).toBe('completed');
    const requests = r.sandbox.requests().map((e) => ({ method: e.method, path: e.path, query: e.query, idempotency_key: e.idempotency_key }));

    // Every decision of the run is among the items written (its record, and for an action its intent and outcome).
    const keys = new Set(items.map(keyOf));
    for (const d of decisions) expect(keys.has(`A#${d.account_id}#D#${d.decision_id}|DECISION`)).toBe(true);
    expect(items.filter((i) => i.type?.S === 'run')).toHaveLength(1);

    r.sandbox.clearRequests();
    const tableName = `floor-${randomBytes(4).toString('hex')}`;
    const floor = await runIoFloor({ sandboxUrl: r.sandbox.url, apiKey: KEY, requests, dynamo: r.dynamo.client, tableName, items, actionConcurrency: 4, writeConcurrency: 4 });

    // The same requests again (reads in order, then the status calls), and every item's key in the floor's table.
    const replayed = r.sandbox.requests().map((e) => ({ method: e.method, path: e.path, query: e.query, idempotency_key: e.idempotency_key }));
    const byMethod = (list: typeof requests, method: string) => list.filter((q) => q.method === method);
    expect(byMethod(replayed, 'GET')).toEqual(byMethod(requests, 'GET'));
    expect(byMethod(replayed, 'POST').map((q) => q.path).sort()).toEqual(byMethod(requests, 'POST').map((q) => q.path).sort());
    expect(floor).toMatchObject({ api_requests: requests.length, item_writes: items.length });
    const scanned = await r.dynamo.client.send(new ScanCommand({ TableName: tableName }));
    expect(new Set((scanned.Items ?? []).map(keyOf))).toEqual(keys);
    expect(floor.seconds).toBeGreaterThan(0);
  });
});
