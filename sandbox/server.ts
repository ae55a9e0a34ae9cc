// The sandbox's HTTP server: the /v1 API of the fact sheet (auth, rate limits, fault injection,
// request log, routing into the World for the organization the key belongs to) and the /_sandbox
// control API. Binds to 127.0.0.1 only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock } from '../functions/shared/clock';
import { keyFingerprint } from '../functions/shared/secrets';
import type { WireProfileName } from '../functions/thrad/wire';
import { ApiError, fromZodIssues, invalidValue } from './errors';
import { isWorldSource, parseAnyFixture, type AnyFixture, type AnyFixtureInput, type FixtureInput, type WorldSource } from './fixture';
import { InsightsEngine } from './insights';
import type { Organization } from './organization';
import { hash32, mulberry32 } from './random';
import { clockSchema, faultsSchema, reviewSchema, rotateSchema, type FaultsConfig } from './requests';
import { handleUpload, MAX_UPLOAD_BYTES } from './upload';
import { World, type Action, type ListParams } from './world';

export type FaultKind = 'http_500' | 'http_503' | 'http_429' | 'timeout' | 'reset' | 'malformed_json';

export interface RequestLogEntry {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string[]>;
  /** HTTP status sent, or null when no response was sent (timeout, reset faults). */
  status: number | null;
  error_code: string | null;
  /** Fingerprint of the bearer token presented (valid or not); never the key itself. */
  key_fingerprint: string | null;
  /** Sandbox time (Unix seconds) when the request arrived. */
  time: number;
  /** Real time (Unix ms) when the request arrived. */
  real_time_ms: number;
  fault: FaultKind | null;
  fault_phase: 'before' | 'after' | null;
  /** Whether the request changed the sandbox's state (a status action that landed, an update...). */
  effect: boolean;
  idempotency_key: string | null;
}

export interface SandboxOptions {
  /**
   * One organization at the top level, or several in `organizations`; or a WorldSource (a large
   * generated world, `generatedWorld()`), loaded one organization at a time and not kept.
   */
  fixture?: AnyFixture | AnyFixtureInput | WorldSource;
  /** 0 = any free port. */
  port?: number;
  seed?: number;
  /** Sandbox seconds per real second; overrides the fixture's `clock_speed`. */
  clockSpeed?: number;
  realClock?: Clock;
  /** The insights wire profile to serve; overrides the fixture's `behaviour.wire_profile` (also after a reset). */
  wireProfile?: WireProfileName;
}

export interface Sandbox {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>/v1` */
  apiUrl: string;
  port: number;
  readonly world: World;
  requests(): RequestLogEntry[];
  clearRequests(): void;
  setFaults(config: FaultsConfig): void;
  reset(fixture: AnyFixture | AnyFixtureInput): void;
  close(): Promise<void>;
}

/** The smallest useful world: one key, an account, no campaigns. */
export const EMPTY_FIXTURE: FixtureInput = {
  api_keys: ['ak_sandbox_test_key'],
  account: { id: '6f1c2a7e-0b7d-4c1e-9a55-2f9d1c0e8a11', name: 'Sandbox Co', url: 'https://sandbox.example' },
};

const HOUR_MS = 3_600_000;

class RateLimiter {
  private readonly windows = new Map<string, number[]>();
  constructor(private readonly world: () => World) {}

  /** Count a request for `fingerprint`, or throw the documented 429 with Retry-After. */
  check(fingerprint: string, isCampaignCreate: boolean): void {
    const world = this.world();
    const now = world.clock.nowMs();
    const general = this.window(`${fingerprint}|all`, now);
    const creates = this.window(`${fingerprint}|create`, now);
    const over = (w: number[], limit: number): number | null => (w.length >= limit ? (w[w.length - limit]) + HOUR_MS - now : null);
    const waitMs = over(general, world.behaviour.requests_per_hour) ?? (isCampaignCreate ? over(creates, world.behaviour.campaign_creates_per_hour) : null);
    if (waitMs !== null) {
      const speed = world.clock.speed;
      // Retry-After in real seconds when the clock runs (clients sleep in real time).
      const seconds = Math.max(1, Math.ceil(speed > 0 ? waitMs / 1000 / speed : waitMs / 1000));
      throw new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', 'Rate limit exceeded: too many requests for this API key in the last hour.', null, { 'Retry-After': String(seconds) });
    }
    general.push(now);
    if (isCampaignCreate) creates.push(now);
  }

  /** Requests in the last hour per key fingerprint (only `fingerprints`' when given). */
  usage(fingerprints?: ReadonlySet<string>): Record<string, number> {
    const now = this.world().clock.nowMs();
    const out: Record<string, number> = {};
    for (const key of this.windows.keys()) {
      if (!key.endsWith('|all')) continue;
      const fingerprint = key.slice(0, -4);
      if (fingerprints === undefined || fingerprints.has(fingerprint)) out[fingerprint] = this.window(key, now).length;
    }
    return out;
  }

  private window(key: string, now: number): number[] {
    let w = this.windows.get(key);
    if (!w) {
      w = [];
      this.windows.set(key, w);
    }
    let drop = 0;
    while (drop < w.length && (w[drop]) <= now - HOUR_MS) drop += 1;
    if (drop > 0) w.splice(0, drop);
    return w;
  }
}

class FaultInjector {
  config: FaultsConfig = { rate: 0 };
  private next: () => number = Math.random;
  private pattern: RegExp | undefined;
  private injected = 0;

  set(config: FaultsConfig): void {
    this.config = config;
    this.injected = 0;
    this.next = mulberry32(hash32(`faults|${config.seed ?? 1}`));
    this.pattern = config.path_pattern !== undefined ? new RegExp(config.path_pattern) : undefined;
  }

  pick(method: string, path: string): { kind: FaultKind; phase: 'before' | 'after' } | null {
    const { rate } = this.config;
    if (rate <= 0) return null;
    if (this.pattern && !this.pattern.test(path)) return null;
    if (this.config.limit !== undefined && this.injected >= this.config.limit) return null;
    if (this.next() >= rate) return null;
    this.injected += 1;
    const kinds = this.config.kinds ?? ['http_500', 'http_503', 'http_429', 'timeout', 'reset', 'malformed_json'];
    const kind = kinds[Math.floor(this.next() * kinds.length)];
    if (kind === 'http_429') return { kind, phase: 'before' };
    if (kind === 'malformed_json') return { kind, phase: 'after' };
    const configured = this.config.phase ?? 'random';
    const phase = method === 'GET' ? 'before' : configured === 'random' ? (this.next() < 0.5 ? 'before' : 'after') : configured;
    return { kind, phase };
  }
}

interface Routed {
  status: number;
  body: unknown;
}

const ACTIONS = new Set(['activate', 'pause', 'archive']);
const LIST_PARAMS = new Set(['limit', 'after', 'before', 'order']);

function parseListParams(params: URLSearchParams, required: string | null): ListParams {
  for (const key of params.keys()) {
    if (!LIST_PARAMS.has(key) && key !== required) throw invalidValue(key, `Unrecognized query parameter: '${key}'.`, 'unknown_parameter');
  }
  const limitRaw = params.get('limit');
  const limit = limitRaw === null ? 20 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalidValue('limit', 'limit must be an integer from 1 to 500.');
  const order = params.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalidValue('order', 'order must be asc or desc.');
  const after = params.get('after') ?? undefined;
  const before = params.get('before') ?? undefined;
  if (after !== undefined && before !== undefined) throw invalidValue('after', 'after and before cannot be combined.');
  return { limit, order, after, before };
}

function jsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidValue('body', 'The request body is not valid JSON.', 'invalid_json');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidValue('body', 'The request body must be a JSON object.');
  return parsed;
}

function methodNotAllowed(method: string, path: string): ApiError {
  return new ApiError(405, 'invalid_request_error', 'method_not_allowed', `${method} is not supported on ${path}.`);
}

function noQuery(params: URLSearchParams): void {
  for (const key of params.keys()) throw invalidValue(key, `Unrecognized query parameter: '${key}'.`, 'unknown_parameter');
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // Only these options are kept: the initial fixture is not (a large world is not held twice).
  const { seed, clockSpeed, realClock, wireProfile, port: listenPort = 0 } = options;
  const makeWorld = (input: AnyFixture | AnyFixtureInput | WorldSource): World => {
    const worldOptions = { seed, clockSpeed, realClock };
    if (isWorldSource(input)) {
      const head = wireProfile === undefined ? input.head : { ...input.head, behaviour: { ...input.head.behaviour, wire_profile: wireProfile } };
      return new World({ head, organizations: input.organizations }, worldOptions);
    }
    const fixture = parseAnyFixture(input);
    const wire = wireProfile === undefined ? fixture : { ...fixture, behaviour: { ...fixture.behaviour, wire_profile: wireProfile } };
    return new World(wire, worldOptions);
  };
  let world = makeWorld(options.fixture ?? EMPTY_FIXTURE);
  let insights = new InsightsEngine(world);
  let limiter = new RateLimiter(() => world);
  const faults = new FaultInjector();
  let log: RequestLogEntry[] = [];
  let seq = 0;
  const held = new Set<{ timer: NodeJS.Timeout; socket: Socket }>();

  /** A /v1 request of `org` (the key's organization): every lookup, list and create is that organization's. */
  const route = (org: Organization, method: string, segments: string[], params: URLSearchParams, raw: Buffer, req: IncomingMessage): Routed => {
    const [collection, id, sub, ...rest] = segments;
    const path = `/v1/${segments.join('/')}`;
    if (rest.length > 0) throw new ApiError(404, 'invalid_request_error', 'not_found', `Unknown endpoint ${path}.`);
    if (collection === 'ad_account') {
      if (id === undefined) {
        if (method !== 'GET') throw methodNotAllowed(method, path);
        noQuery(params);
        world.sync(org);
        return { status: 200, body: world.accountView(org) };
      }
      if (id === 'insights' && sub === undefined) {
        if (method !== 'GET') throw methodNotAllowed(method, path);
        return { status: 200, body: insights.query({ level: 'ad_account', id: null }, params, org) };
      }
    }
    if (collection === 'upload' && id === undefined) {
      if (method !== 'POST') throw methodNotAllowed(method, path);
      if (raw.length > MAX_UPLOAD_BYTES * 2) throw invalidValue('file', 'Images may be at most 5 MB.', 'file_too_large');
      return { status: 201, body: handleUpload(world, org, req.headers['content-type'] ?? '', raw) };
    }
    const level = collection === 'campaigns' ? 'campaign' : collection === 'ad_groups' ? 'ad_group' : collection === 'ads' ? 'ad' : null;
    if (level === null) throw new ApiError(404, 'invalid_request_error', 'not_found', `Unknown endpoint ${path}.`);
    if (id === undefined) {
      if (method === 'GET') {
        world.sync(org);
        if (level === 'campaign') return { status: 200, body: world.listCampaigns(parseListParams(params, null), org) };
        const parent = level === 'ad_group' ? 'campaign_id' : 'ad_group_id';
        const listParams = parseListParams(params, parent);
        const parentId = params.get(parent);
        if (parentId === null || parentId === '') throw invalidValue(parent, `${parent} is required.`);
        return { status: 200, body: level === 'ad_group' ? world.listAdGroups(parentId, listParams, org) : world.listAds(parentId, listParams, org) };
      }
      noQuery(params);
      const body = jsonBody(raw);
      if (level === 'campaign') {
        const idempotencyKey = req.headers['idempotency-key'];
        return world.createCampaign(body, typeof idempotencyKey === 'string' && idempotencyKey !== '' ? idempotencyKey : undefined, org);
      }
      return { status: 201, body: level === 'ad_group' ? world.createAdGroup(body, org) : world.createAd(body, org) };
    }
    if (sub === undefined) {
      if (method === 'GET') {
        noQuery(params);
        world.sync(org);
        if (level === 'campaign') return { status: 200, body: world.campaignView(world.campaign(id, null, org)) };
        if (level === 'ad_group') return { status: 200, body: world.adGroupView(world.adGroup(id, null, org)) };
        return { status: 200, body: world.adView(world.ad(id, null, org)) };
      }
      noQuery(params);
      const body = jsonBody(raw);
      if (level === 'campaign') return { status: 200, body: world.updateCampaign(id, body, org) };
      if (level === 'ad_group') return { status: 200, body: world.updateAdGroup(id, body, org) };
      return { status: 200, body: world.updateAd(id, body, org) };
    }
    if (sub === 'insights') {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      return { status: 200, body: insights.query({ level: level, id }, params, org) };
    }
    if (ACTIONS.has(sub)) {
      if (method !== 'POST') throw methodNotAllowed(method, path);
      noQuery(params);
      jsonBody(raw); // action bodies carry nothing, but must not be broken JSON
      const action = sub as Action;
      if (level === 'campaign') return { status: 200, body: world.campaignAction(id, action, org) };
      if (level === 'ad_group') return { status: 200, body: world.adGroupAction(id, action, org) };
      return { status: 200, body: world.adAction(id, action, org) };
    }
    throw new ApiError(404, 'invalid_request_error', 'not_found', `Unknown endpoint ${path}.`);
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    // Encoded once: its length is the Content-Length, and the bytes are what is written.
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, ...headers });
    res.end(bytes);
  };

  const applyFault = (kind: FaultKind, req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, result?: Routed): void => {
    switch (kind) {
      case 'http_500':
        entry.status = 500;
        entry.error_code = 'internal_error';
        send(res, 500, new ApiError(500, 'api_error', 'internal_error', 'The server had an error while processing your request.').body());
        return;
      case 'http_503':
        entry.status = 503;
        entry.error_code = 'service_unavailable';
        send(res, 503, new ApiError(503, 'api_error', 'service_unavailable', 'The service is temporarily unavailable.').body());
        return;
      case 'http_429': {
        entry.status = 429;
        entry.error_code = 'rate_limit_exceeded';
        const error = new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', 'Rate limit exceeded: too many requests for this API key in the last hour.');
        send(res, 429, error.body(), { 'Retry-After': String(faults.config.retry_after_seconds ?? 1) });
        return;
      }
      case 'timeout': {
        const socket = req.socket;
        const handle = {
          socket,
          timer: setTimeout(() => {
            held.delete(handle);
            socket.destroy();
          }, faults.config.timeout_hold_ms ?? 30_000),
        };
        held.add(handle);
        socket.once('close', () => {
          clearTimeout(handle.timer);
          held.delete(handle);
        });
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'malformed_json': {
        const status = result?.status ?? 200;
        const text = JSON.stringify(result?.body ?? { object: 'list', data: [] });
        const cut = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
        entry.status = status;
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(cut) });
        res.end(cut);
        return;
      }
    }
  };

  const handleApi = (req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): void => {
    const method = req.method ?? 'GET';
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
    const idempotency = req.headers['idempotency-key'];
    const entry: RequestLogEntry = {
      seq: (seq += 1),
      method,
      path: url.pathname,
      query,
      status: null,
      error_code: null,
      key_fingerprint: null,
      time: world.nowSeconds(),
      real_time_ms: Date.now(),
      fault: null,
      fault_phase: null,
      effect: false,
      idempotency_key: typeof idempotency === 'string' ? idempotency : null,
    };
    log.push(entry);
    const segments = url.pathname.slice('/v1/'.length).split('/').filter((s) => s !== '').map(decodeURIComponent);
    const bearer = /^Bearer\s+(\S+)$/.exec(req.headers.authorization?.trim() ?? '')?.[1];
    if (bearer !== undefined) entry.key_fingerprint = keyFingerprint(bearer);
    try {
      const key = world.authenticate(req.headers.authorization);
      limiter.check(key.fingerprint, method === 'POST' && segments.length === 1 && segments[0] === 'campaigns');
      const fault = faults.pick(method, url.pathname);
      if (fault) {
        entry.fault = fault.kind;
        entry.fault_phase = fault.phase;
      }
      if (fault?.phase === 'before') {
        applyFault(fault.kind, req, res, entry);
        return;
      }
      const before = world.mutations;
      let result: Routed;
      try {
        result = route(world.ownerOf(key), method, segments, url.searchParams, raw, req);
      } finally {
        entry.effect = world.mutations !== before;
      }
      if (fault) {
        applyFault(fault.kind, req, res, entry, result);
        return;
      }
      entry.status = result.status;
      send(res, result.status, result.body);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'api_error', 'internal_error', 'The sandbox failed unexpectedly; see its console.');
      if (!(error instanceof ApiError)) console.error('sandbox: unexpected error', error);
      entry.status = apiError.status;
      entry.error_code = apiError.code;
      if (entry.fault === 'malformed_json') {
        applyFault('malformed_json', req, res, entry, { status: apiError.status, body: apiError.body() });
        return;
      }
      if (entry.fault !== null && entry.fault_phase === 'after') {
        applyFault(entry.fault, req, res, entry);
        return;
      }
      send(res, apiError.status, apiError.body(), apiError.headers);
    }
  };

  const controlBody = <T>(raw: Buffer, parse: (value: unknown) => { success: true; data: T } | { success: false; error: { issues: Parameters<typeof fromZodIssues>[0] } }): T => {
    const body = jsonBody(raw);
    const result = parse(body);
    if (!result.success) throw fromZodIssues(result.error.issues, body);
    return result.data;
  };

  /** The organization a control call names by its account id (`org`), or undefined when it names none. */
  const namedOrg = (accountId: string | null | undefined): Organization | undefined => {
    if (accountId === null || accountId === undefined) return undefined;
    const org = world.organization(accountId);
    if (!org) throw new ApiError(404, 'invalid_request_error', 'not_found', `No such organization: '${accountId}' (name one by its ad account id).`, 'org');
    return org;
  };

  const handleControl = (req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): void => {
    const method = req.method ?? 'GET';
    const parts = url.pathname.slice('/_sandbox/'.length).split('/').filter((s) => s !== '');
    const path = parts.join('/');
    const fingerprintsOf = (org: Organization): Set<string> => new Set(org.keys.map((k) => k.fingerprint));
    try {
      if (path === 'reset' && method === 'POST') {
        let input: unknown;
        try {
          input = raw.length === 0 ? EMPTY_FIXTURE : JSON.parse(raw.toString('utf8'));
        } catch {
          throw invalidValue('body', 'The fixture is not valid JSON.', 'invalid_json');
        }
        let next: World;
        try {
          next = makeWorld(input as FixtureInput);
        } catch (error) {
          throw invalidValue('fixture', (error as Error).message, 'invalid_fixture');
        }
        world = next;
        insights = new InsightsEngine(world);
        limiter = new RateLimiter(() => world);
        log = [];
        faults.set({ rate: 0 });
        send(res, 200, { ok: true, now: world.nowSeconds(), campaigns: world.campaigns.size, ...(world.orgs.length > 1 ? { organizations: world.orgs.length } : {}) });
        return;
      }
      if (path === 'state' && method === 'GET') {
        const org = namedOrg(url.searchParams.get('org'));
        send(res, 200, { ...world.snapshot(org), rate_limit_usage: limiter.usage(org && fingerprintsOf(org)), faults: faults.config });
        return;
      }
      if (path === 'clock' && method === 'GET') {
        send(res, 200, { now: world.nowSeconds(), now_ms: Math.floor(world.clock.nowMs()), speed: world.clock.speed });
        return;
      }
      if (path === 'clock' && method === 'POST') {
        const body = controlBody(raw, (v) => clockSchema.safeParse(v));
        // One organization is brought up to the clock on both sides of the move, as it always
        // was. Several are each brought up when next read, so moving the clock of a large world
        // costs nothing per organization (lazy delivery gives the same totals).
        const settle = (): void => {
          if (world.orgs.length === 1) world.sync();
        };
        settle();
        try {
          if ('now' in body) world.clock.set(body.now * 1000);
          else if ('advance_seconds' in body) world.clock.advance(body.advance_seconds);
          else world.clock.setSpeed(body.speed);
        } catch (error) {
          throw invalidValue('now', (error as Error).message);
        }
        settle();
        send(res, 200, { now: world.nowSeconds(), now_ms: Math.floor(world.clock.nowMs()), speed: world.clock.speed });
        return;
      }
      if (parts[0] === 'campaigns' && parts[2] === 'review' && parts.length === 3 && method === 'POST') {
        const body = controlBody(raw, (v) => reviewSchema.safeParse(v));
        // Campaign ids are unique across organizations: the id names its organization.
        world.sync(world.ownerOf(world.campaign(parts[1])));
        send(res, 200, world.setReview(parts[1], body.review_status));
        return;
      }
      if (path === 'faults' && method === 'POST') {
        const body = controlBody(raw, (v) => faultsSchema.safeParse(v));
        if (body.path_pattern !== undefined) {
          try {
            new RegExp(body.path_pattern);
          } catch {
            throw invalidValue('path_pattern', 'path_pattern is not a valid regular expression.');
          }
        }
        faults.set(body);
        send(res, 200, faults.config);
        return;
      }
      if (path === 'faults' && method === 'GET') {
        send(res, 200, faults.config);
        return;
      }
      if (path === 'requests' && method === 'GET') {
        const org = namedOrg(url.searchParams.get('org'));
        const fingerprints = org && fingerprintsOf(org);
        const data = fingerprints ? log.filter((entry) => entry.key_fingerprint !== null && fingerprints.has(entry.key_fingerprint)) : log;
        send(res, 200, { object: 'list', data, count: data.length });
        return;
      }
      if (path === 'requests' && method === 'DELETE') {
        log = [];
        send(res, 200, { ok: true });
        return;
      }
      if (path === 'insights/cache' && method === 'DELETE') {
        send(res, 200, { ok: true, entries_dropped: insights.clearCache() });
        return;
      }
      if (path === 'keys/rotate' && method === 'POST') {
        const body = controlBody(raw, (v) => rotateSchema.safeParse(v));
        const org = namedOrg(body.org);
        if (org === undefined && world.orgs.length > 1) {
          throw invalidValue('org', `This sandbox holds ${world.orgs.length} organizations: name the one whose key to rotate with "org" (its ad account id).`, 'missing_required_parameter');
        }
        world.sync(org);
        send(res, 200, world.rotateKey(body.new_key, org));
        return;
      }
      throw new ApiError(404, 'invalid_request_error', 'not_found', `Unknown control endpoint ${method} /_sandbox/${path}.`);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'api_error', 'internal_error', (error as Error).message);
      send(res, apiError.status, apiError.body(), apiError.headers);
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES * 3) {
        tooLarge = true;
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (tooLarge) {
        send(res, 413, new ApiError(413, 'invalid_request_error', 'request_too_large', 'The request body is too large.').body());
        return;
      }
      const raw = Buffer.concat(chunks);
      if (url.pathname.startsWith('/v1/')) handleApi(req, res, url, raw);
      else if (url.pathname.startsWith('/_sandbox/')) handleControl(req, res, url, raw);
      else send(res, 404, new ApiError(404, 'invalid_request_error', 'not_found', `Unknown endpoint ${url.pathname}; the API lives under /v1.`).body());
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    apiUrl: `${url}/v1`,
    port,
    get world() {
      return world;
    },
    requests: () => [...log],
    clearRequests: () => {
      log = [];
    },
    setFaults: (config) => faults.set(faultsSchema.parse(config)),
    reset: (fixture) => {
      world = makeWorld(fixture);
      insights = new InsightsEngine(world);
      limiter = new RateLimiter(() => world);
      log = [];
      faults.set({ rate: 0 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const handle of held) {
          clearTimeout(handle.timer);
          handle.socket.destroy();
        }
        held.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
