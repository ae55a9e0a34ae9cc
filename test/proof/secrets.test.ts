// The API key never appears in a log line, an error or a record: a whole scenario (faults of every
// kind, a key rotated mid-run, failed calls, an undo, the CLI's JSON and CSV) with a distinctive
// key, then every item of the audit table, every log line and every error is searched for it.
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCsv } from '../../functions/cli/audit';
import { renderReport } from '../../functions/cli/report';
import { jsonLogger } from '../../functions/engine/logger';
import { undoDecision } from '../../functions/engine/undo';
import { RequestBudget } from '../../functions/thrad/budget';
import { ThradClient } from '../../functions/thrad/client';
import type { ApiKeyProvider } from '../../functions/thrad/keys';
import { ACCOUNT_ID, engineFixture } from '../helpers/fixtures';
import { rig, rulesWithoutCooldowns, type Rig } from '../helpers/engine';
import { recordingSleep } from '../helpers/sandbox';

const SECRET = 'ak_live_SENTINEL_7f3a9c2e5b1d';
const ROTATED = 'ak_live_SENTINEL_ROTATED_4e8b0d';

describe('key hygiene across a whole scenario', () => {
  let r: Rig;
  const lines: string[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    r = await rig(engineFixture({ api_keys: [SECRET], behaviour: { key_rotation_grace_seconds: 0 } }), rulesWithoutCooldowns());
    const secret = { value: SECRET };
    let cached = SECRET;
    const provider: ApiKeyProvider = { source: 'secret', getKey: () => Promise.resolve(cached), refresh: () => Promise.resolve((cached = secret.value)) };
    const clock = r.sandbox.world.clock;
    const logger = jsonLogger('debug', (line) => lines.push(line));
    const client = new ThradClient({ baseUrl: r.sandbox.apiUrl, keyProvider: provider, clock, sleep: recordingSleep(), requestTimeoutMs: 100, retry: { maxAttempts: 2 }, budget: new RequestBudget(clock), onEvent: (e) => lines.push(JSON.stringify(e)) });
    const engine = r.engine({ client, logger, onDecision: (d) => lines.push(JSON.stringify(d)) });
    const kinds = ['http_500', 'http_503', 'http_429', 'timeout', 'reset', 'malformed_json'] as const;
    for (const [i, kind] of kinds.entries()) {
      r.sandbox.reset(engineFixture({ api_keys: [secret.value], behaviour: { key_rotation_grace_seconds: 0 } }));
      r.sandbox.setFaults({ rate: 0.4, kinds: [kind], seed: i, timeout_hold_ms: 500 });
      if (i === 3) {
        // Rotate in the middle of the scenario: the old key stops at once.
        secret.value = r.sandbox.world.rotateKey(ROTATED).key;
      }
      try {
        const { summary } = await engine.runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: Date.parse('2026-03-10T15:00:00Z') + i * 60_000 });
        lines.push(JSON.stringify(summary));
      } catch (error) {
        errors.push(error);
      }
    }
    r.sandbox.setFaults({ rate: 0 });
    // A wrong key, an undo, and errors from both.
    errors.push(await new ThradClient({ baseUrl: r.sandbox.apiUrl, keyProvider: { source: 'x', getKey: () => Promise.resolve(SECRET), refresh: () => Promise.resolve(SECRET) } }).getAdAccount().catch((e: unknown) => e));
    const acted = (await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'acted', limit: 1 }))[0];
    if (acted) lines.push(JSON.stringify(await undoDecision({ client, store: r.store, clock }, ACCOUNT_ID, acted.decision_id, { deadlineMs: Date.now() + 30_000 })));
  }, 60_000);
  afterAll(() => r.close());

  const haystacks = (): string[] => [SECRET, ROTATED];

  it('no audit record holds the key (every item of the table scanned)', async () => {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await r.dynamo.client.send(new ScanCommand({ TableName: r.store.tableName, ExclusiveStartKey: start as never }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(items.length).toBeGreaterThan(20);
    const text = JSON.stringify(items);
    for (const key of haystacks()) expect(text).not.toContain(key);
    expect(text).toMatch(/key_[0-9a-f]{12}/); // fingerprints are what the ledger keeps
  });

  it('no log line, client event or decision line holds the key', () => {
    expect(lines.length).toBeGreaterThan(50);
    const text = lines.join('\n');
    for (const key of haystacks()) expect(text).not.toContain(key);
  });

  it('no error message, stack or error JSON holds the key', () => {
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      const text = `${String(error)} ${(error as Error).stack ?? ''} ${JSON.stringify(error)}`;
      for (const key of haystacks()) expect(text).not.toContain(key);
    }
  });

  it('nor do the CLI exports (JSON, CSV, the HTML report) or the sandbox log', async () => {
    const records = await r.store.queryDecisions(ACCOUNT_ID, { sinceMs: 0, limit: 1_000 });
    const text = [JSON.stringify(records), toCsv(records), renderReport(records, { accountId: ACCOUNT_ID, fromMs: 0, toMs: Date.now(), generatedAt: 'now' }), JSON.stringify(r.sandbox.requests())].join('\n');
    for (const key of haystacks()) expect(text).not.toContain(key);
  });
});
