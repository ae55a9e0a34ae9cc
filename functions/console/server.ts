// The console's HTTP server: node:http on 127.0.0.1 only. It serves the page (one HTML file, its
// script and its stylesheet, read from functions/console/page: no build step, nothing from a
// CDN) and the JSON endpoints of api.ts. Every request must name the console's own host (a page
// on another site that rebinds a name to 127.0.0.1 gets nothing), and every POST must come from
// the console's own origin, since approving acts on advertisers' money.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { redactKeys } from '../shared/secrets';
import { ROUTES, type ConsoleDeps } from './api';
import { ConsoleError, ConsoleForbiddenError, ConsoleInputError, ConsoleMethodError, ConsoleNotFoundError } from './errors';

/** The console binds here and nowhere else. */
export const CONSOLE_HOST = '127.0.0.1';
export const DEFAULT_CONSOLE_PORT = 4777;
/** The largest request body accepted (an uploaded fixture and events file). */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

const PAGE_DIR = join(__dirname, 'page');

const ASSETS = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
} as const;

type AssetPath = keyof typeof ASSETS;

const isAsset = (path: string): path is AssetPath => Object.hasOwn(ASSETS, path);

/** The page may load only its own script and style and talk only to its own server. */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export interface ConsoleServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  send(response, status, 'application/json; charset=utf-8', redactKeys(JSON.stringify(body)), extra);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new ConsoleInputError('Content-Type', `expected application/json, found ${type === '' ? 'none' : `"${type}"`}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new ConsoleError(`The request body is over ${MAX_BODY_BYTES / 1024 / 1024} MB.`, 413);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConsoleInputError('body', `not valid JSON: ${(error as Error).message}`);
  }
}

/** What a browser says (Sec-Fetch-Site) of a request from the console's own page, or one a person typed; curl sends none. */
const OWN_FETCH_SITES: ReadonlySet<string> = new Set(['same-origin', 'none']);

/**
 * Who may talk to the console: requests for its own host; POSTs from its own origin only; and the
 * JSON endpoints only from its own page, GETs included: reading them spends the API's hourly
 * requests (an entity's view is a preview: lists and insights), so a page elsewhere firing them
 * through the browser (`<img src>`, a no-cors fetch) could starve the autopilot's own runs. The
 * page itself may be opened from a link anywhere.
 */
export function checkOrigin(request: Pick<IncomingMessage, 'method' | 'headers'>, port: number, path = '/'): void {
  const hosts = [`${CONSOLE_HOST}:${port}`, `localhost:${port}`];
  const host = request.headers.host ?? '';
  if (!hosts.includes(host)) throw new ConsoleForbiddenError(`Host "${host}" is not this console (${CONSOLE_HOST}:${port}).`);
  const origin = request.headers.origin;
  if (request.method === 'GET' || request.method === 'HEAD') {
    if (!path.startsWith('/api/')) return;
    const site = request.headers['sec-fetch-site'];
    const siteElsewhere = typeof site === 'string' && !OWN_FETCH_SITES.has(site);
    if (siteElsewhere || (origin !== undefined && origin !== `http://${host}`)) {
      throw new ConsoleForbiddenError(`${request.method} ${path} from ${origin === undefined ? `a ${String(site)} page` : `origin "${origin}"`} refused: the console answers its API only to its own page (http://${host}).`);
    }
    return;
  }
  if (origin !== `http://${host}`) throw new ConsoleForbiddenError(`${request.method ?? 'This request'} from ${origin === undefined ? 'no origin' : `origin "${origin}"`} refused: the console accepts changes only from its own page (http://${host}).`);
}

/** A route's `:name` segments, decoded; a malformed escape (`%E0%A4%A`) is the client's mistake, a 400. */
export function pathParams(groups: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(groups).map(([name, raw]) => {
      try {
        return [name, decodeURIComponent(raw)];
      } catch {
        throw new ConsoleInputError(`path.${name}`, `"${raw}" is not a valid URL-encoded segment`);
      }
    }),
  );
}

async function handle(deps: ConsoleDeps, pages: Record<AssetPath, Buffer>, port: number, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const url = new URL(request.url ?? '/', `http://${CONSOLE_HOST}:${port}`);
    checkOrigin(request, port, url.pathname);
    const method = request.method ?? 'GET';
    if (isAsset(url.pathname)) {
      if (method !== 'GET' && method !== 'HEAD') throw new ConsoleMethodError(method, url.pathname, ['GET']);
      send(response, 200, ASSETS[url.pathname].type, pages[url.pathname]);
      return;
    }
    const matches = ROUTES.map((r) => ({ r, m: r.pattern.exec(url.pathname) })).filter((x) => x.m !== null);
    if (matches.length === 0) throw new ConsoleNotFoundError(`No page or endpoint ${url.pathname}.`);
    const found = matches.find((x) => x.r.method === method);
    if (!found) throw new ConsoleMethodError(method, url.pathname, matches.map((x) => x.r.method));
    const params = pathParams(found.m?.groups ?? {});
    const body = found.r.hasBody ? await readBody(request) : undefined;
    // The connection closing before the answer (the page left, Ctrl-C) stops what the request started.
    const closed = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) closed.abort();
    });
    const reply = await found.r.run(deps, params, url.searchParams, body, closed.signal);
    sendJson(response, reply.status, reply.body);
  } catch (error) {
    if (error instanceof ConsoleError) {
      const extra: Record<string, string> = error instanceof ConsoleMethodError ? { Allow: error.allowed.join(', ') } : {};
      sendJson(response, error.httpStatus, { error: { code: error.name, message: error.message, field: error instanceof ConsoleInputError ? error.field : null } }, extra);
      return;
    }
    sendJson(response, 500, { error: { code: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error), field: null } });
  }
}

/** Start the console on 127.0.0.1:`port` (0: a free port). */
export async function startConsoleServer(deps: ConsoleDeps, port: number): Promise<ConsoleServer> {
  const pages = Object.fromEntries(Object.entries(ASSETS).map(([path, asset]) => [path, readFileSync(join(PAGE_DIR, asset.file))])) as Record<AssetPath, Buffer>;
  let bound = port;
  const server = createServer((request, response) => {
    void handle(deps, pages, bound, request, response);
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, CONSOLE_HOST, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${CONSOLE_HOST}:${bound}/`,
    port: bound,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeAllConnections();
      }),
  };
}
