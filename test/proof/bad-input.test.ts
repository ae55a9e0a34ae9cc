// Bad input, fuzzed (fast-check): the sandbox's own input never gets a 500 and validation errors
// name their param; malformed scheduler events are rejected with a typed error; API responses that
// are truncated, mistyped, missing fields, carrying extras or huge end in a typed error or a
// tolerated extra, and never in a wrong action.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidSchedulerEventError } from '../../functions/handlers/errors';
import { parseSchedulerEvent } from '../../functions/handlers/event';
import { ThradClient } from '../../functions/thrad/client';
import { ThradApiError } from '../../functions/thrad/errors';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { campaignSchema } from '../../functions/thrad/schemas';
import type { Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, eids, engineFixture, ids, KEY, smallFixture } from '../helpers/fixtures';
import { rig, rulesWithoutCooldowns, statusCalls, type Rig } from '../helpers/engine';
import { auth, recordingSleep, withSandbox } from '../helpers/sandbox';

/** Codes a well-formed request can get for the state of the world (no field to blame). */
const STATE_CODES = new Set(['billing_not_configured', 'card_declined', 'idempotency_key_reused', 'campaign_not_approved', 'campaign_not_running', 'campaign_archived', 'campaign_already_active', 'campaign_already_archived', 'not_found', 'method_not_allowed', 'rate_limit_exceeded']);

describe("the sandbox's own input", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox(smallFixture());
  });
  afterAll(() => sandbox.close());

  const bodies = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string(),
    fc.record({ name: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), budget: fc.jsonValue(), ad_groups: fc.jsonValue(), status: fc.jsonValue(), extra: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    fc.record({ campaign_id: fc.constantFrom(ids.c1, 'nope', 7), ad_group_id: fc.constantFrom(ids.g1, 'x'), name: fc.string(), ads: fc.jsonValue(), creative: fc.jsonValue(), context_hints: fc.jsonValue(), bidding_config: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  );
  const endpoints = [
    '/v1/campaigns',
    `/v1/campaigns/${ids.c1}`,
    `/v1/campaigns/${ids.c3}/activate`,
    `/v1/campaigns/${ids.c1}/pause`,
    '/v1/ad_groups',
    `/v1/ad_groups/${ids.g1}`,
    '/v1/ads',
    `/v1/ads/${ids.a1}`,
    `/v1/ads/${ids.a1}/archive`,
    '/v1/upload',
    '/_sandbox/clock',
    '/_sandbox/faults',
    `/_sandbox/campaigns/${ids.c2}/review`,
    '/_sandbox/keys/rotate',
  ];

  it('malformed JSON, wrong types and unknown fields → 400 with a param, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), bodies, async (path, body) => {
        const response = await fetch(`${sandbox.url}${path}`, { method: 'POST', body, headers: { ...auth(), 'Content-Type': 'application/json' } });
        const json = (await response.json()) as { error?: { code: string; param: string | null; type: string } };
        expect(response.status, `${path} ${body}`).toBeLessThan(500);
        if (response.status >= 400 && json.error && !STATE_CODES.has(json.error.code)) {
          expect(json.error.param, `${path} ${body} → ${json.error.code}`).not.toBeNull();
          expect(json.error.type).toBe('invalid_request_error');
        }
      }),
      { numRuns: 1_500, seed: 31 },
    );
  });

  it('random query strings on reads → never a 500', async () => {
    const params = fc.array(fc.tuple(fc.constantFrom('limit', 'after', 'before', 'order', 'aggregation_level', 'time_granularity', 'fields[]', 'time_ranges[]', 'filters[]', 'supply', 'campaign_id', 'x'), fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)))), { maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/campaigns', '/v1/ad_groups', '/v1/ads', '/v1/ad_account/insights', `/v1/campaigns/${ids.c1}/insights`, `/v1/ads/${ids.a1}/insights`), params, async (path, query) => {
        const qs = new URLSearchParams(query).toString();
        const response = await fetch(`${sandbox.url}${path}?${qs}`, { headers: auth() });
        expect(response.status, `${path}?${qs}`).toBeLessThan(500);
      }),
      { numRuns: 1_000, seed: 32 },
    );
  });

  it('the control API answers a random fixture with 400 invalid_fixture, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (fixture) => {
        const response = await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST', body: JSON.stringify(fixture), headers: { 'Content-Type': 'application/json' } });
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 300, seed: 33 },
    );
    sandbox.reset(smallFixture());
  });
});

describe('scheduler events', () => {
  it('anything that is not a well-formed event is rejected with InvalidSchedulerEventError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ scheduled_time: fc.oneof(fc.anything(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), execution_id: fc.anything(), attempt: fc.anything(), extra: fc.anything() }, { requiredKeys: [] })), (event) => {
        try {
          const parsed = parseSchedulerEvent(event);
          expect(Number.isNaN(Date.parse(parsed.scheduled_time))).toBe(false);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidSchedulerEventError);
        }
      }),
      { numRuns: 3_000, seed: 34 },
    );
  });
});

/** A loopback server that answers what the test says, or forwards to the sandbox and mutates a path's body. */
class FakeApi {
  server!: Server;
  url = '';
  respond: (req: IncomingMessage) => { status: number; body: string } | null = () => null;
  upstream = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const own = this.respond(req);
    if (own) {
      res.writeHead(own.status, { 'Content-Type': 'application/json' });
      res.end(own.body);
      return;
    }
    const upstream = await fetch(`${this.upstream}${req.url ?? ''}`, { method: req.method, headers: { authorization: String(req.headers.authorization ?? ''), 'content-type': 'application/json', ...(req.headers['idempotency-key'] ? { 'idempotency-key': String(req.headers['idempotency-key']) } : {}) }, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
    res.writeHead(upstream.status, { 'Content-Type': 'application/json' });
    res.end(await upstream.text());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Mutations of a valid list body, and whether the result should still be accepted as is. */
function mutations(valid: { data: Record<string, Json>[] } & Record<string, Json>) {
  const fields = Object.keys(valid.data[0] ?? {});
  return fc.oneof(
    fc.integer({ min: 0, max: JSON.stringify(valid).length - 1 }).map((at) => ({ body: JSON.stringify(valid).slice(0, at), tolerated: false })),
    fc.tuple(fc.nat(valid.data.length - 1), fc.constantFrom(...['id', 'status', 'review_status', 'budget', 'start_time', 'end_time', 'name', 'created_at'])).map(([i, f]) => {
      const copy = structuredClone(valid);
      delete (copy.data[i])[f];
      return { body: JSON.stringify(copy), tolerated: false };
    }),
    fc.tuple(fc.nat(valid.data.length - 1), fc.constantFrom(...['id', 'status', 'review_status', 'budget', 'start_time', 'name']), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.constant('ACTIVE'), fc.constant({ lifetime_spend_limit_micros: '5' }))).map(([i, f, v]) => {
      const copy = structuredClone(valid);
      (copy.data[i])[f] = v;
      return { body: JSON.stringify(copy), tolerated: false, field: f, value: v };
    }),
    fc.tuple(fc.nat(valid.data.length - 1), fc.string({ minLength: 1 }).filter((k) => !fields.includes(k) && k !== '__proto__'), fc.jsonValue()).map(([i, k, v]) => {
      const copy = structuredClone(valid);
      (copy.data[i])[k] = v as Json;
      return { body: JSON.stringify(copy), tolerated: true };
    }),
    fc.string().map((s) => ({ body: s, tolerated: false })),
    fc.constant({ body: JSON.stringify({ ...valid, has_more: true }), tolerated: false }),
  );
}

describe('API responses, fuzzed', () => {
  let sandbox: Sandbox;
  let fake: FakeApi;
  let valid: { data: Record<string, Json>[] } & Record<string, Json>;
  beforeAll(async () => {
    sandbox = await withSandbox(smallFixture());
    fake = new FakeApi();
    await fake.start();
    valid = (await (await fetch(`${sandbox.apiUrl}/campaigns?limit=500`, { headers: auth() })).json()) as typeof valid;
  });
  afterAll(async () => {
    await fake.close();
    await sandbox.close();
  });

  const client = (): ThradClient => new ThradClient({ baseUrl: fake.url, keyProvider: new StaticApiKeyProvider(KEY), sleep: recordingSleep(), retry: { maxAttempts: 2 }, requestTimeoutMs: 2_000 });

  it('the client answers a typed error or the tolerated data, nothing else', async () => {
    const reference = valid.data.map((c) => campaignSchema.parse(c));
    await fc.assert(
      fc.asyncProperty(mutations(valid), async (mutation) => {
        fake.respond = () => ({ status: 200, body: mutation.body });
        let result: unknown;
        try {
          result = await client().listCampaigns();
        } catch (error) {
          expect(error).toBeInstanceOf(ThradApiError);
          expect(['MalformedResponseError']).toContain((error as Error).name);
          return;
        }
        // Accepted: only when every campaign still has the documented shape.
        const parsed = result as ReturnType<typeof campaignSchema.parse>[];
        for (const campaign of parsed) expect(campaignSchema.safeParse(campaign).success).toBe(true);
        if (mutation.tolerated) expect(parsed).toEqual(reference);
      }),
      { numRuns: 1_000, seed: 35 },
    );
  });

  it('an error status with a broken body is still a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(400, 401, 404, 409, 429, 500, 502, 503), fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), async (status, body) => {
        fake.respond = () => ({ status, body });
        await expect(client().getAdAccount()).rejects.toBeInstanceOf(ThradApiError);
      }),
      { numRuns: 300, seed: 36 },
    );
  });

  it('a huge page is read; a cursor that never advances ends in a typed error, not a loop', async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({ ...valid.data[0], id: `c-${i}` }));
    fake.respond = () => ({ status: 200, body: JSON.stringify({ object: 'list', data: many, count: many.length, first_id: 'c-0', last_id: 'c-4999', has_more: false }) });
    expect(await client().listCampaigns()).toHaveLength(5_000);
    fake.respond = () => ({ status: 200, body: JSON.stringify({ object: 'list', data: many.slice(0, 2), count: 2, first_id: 'c-0', last_id: 'c-1', has_more: true }) });
    await expect(client().listCampaigns()).rejects.toMatchObject({ name: 'MalformedResponseError', code: 'bad_cursor' });
  });
});

describe('never a wrong action on a bad response', () => {
  let r: Rig;
  let fake: FakeApi;
  beforeAll(async () => {
    // No cooldowns: every iteration starts from a fresh world and should act the same.
    r = await rig(engineFixture(), rulesWithoutCooldowns());
    fake = new FakeApi();
    await fake.start();
    fake.upstream = r.sandbox.url;
  });
  afterAll(async () => {
    await fake.close();
    await r.close();
  });

  it('a mangled campaign list or insights answer makes the rules data_unavailable and calls nothing; extras change nothing', async () => {
    const valid = (await (await fetch(`${r.sandbox.apiUrl}/campaigns?limit=500`, { headers: auth() })).json()) as { data: Record<string, Json>[] } & Record<string, Json>;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(mutations(valid), fc.constantFrom('/v1/campaigns', '/v1/ad_account/insights'), async (mutation, target) => {
        run += 1;
        await r.restart(engineFixture());
        // The mutated list answers the target read; everything else reaches the sandbox untouched.
        fake.respond = (req) => (req.url?.split('?')[0] === target ? { status: 200, body: mutation.body } : null);
        const engine = r.engine({ client: new ThradClient({ baseUrl: fake.url, keyProvider: new StaticApiKeyProvider(KEY), clock: r.sandbox.world.clock, sleep: recordingSleep(), retry: { maxAttempts: 1 } }), accountId: ACCOUNT_ID });
        const { summary } = await engine.runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: Date.parse('2026-03-10T15:00:00Z') + run * 60_000 });
        const calls = statusCalls(r.sandbox);
        if (mutation.tolerated && target === '/v1/campaigns') {
          // An extra field is ignored: the same three campaigns are acted on as without it.
          expect(calls.map((c) => c.path).sort()).toEqual([`/v1/campaigns/${eids.approved}/activate`, `/v1/campaigns/${eids.expensive}/pause`, `/v1/campaigns/${eids.night}/pause`].sort());
        } else if (target === '/v1/campaigns') {
          const accepted = (() => {
            try {
              const parsed = JSON.parse(mutation.body) as { data?: unknown[]; has_more?: boolean };
              return !parsed.has_more && Array.isArray(parsed.data) && parsed.data.every((c) => campaignSchema.safeParse(c).success);
            } catch {
              return false;
            }
          })();
          if (!accepted) {
            expect(calls, mutation.body.slice(0, 200)).toEqual([]);
            expect(summary.counts.data_unavailable).toBe(3);
          }
        } else {
          // Insights answered with something that is not insights rows: the field-only rule may act
          // (it reads no insights); the metric rules never do.
          for (const call of calls) expect(call.path).toBe(`/v1/campaigns/${eids.night}/pause`);
          expect(summary.counts.data_unavailable).toBe(2);
        }
      }),
      { numRuns: 60, seed: 37 },
    );
  });
});
