// Who the console answers (functions/console/server.ts): its own host only; POSTs only from its
// own origin; its JSON endpoints, GETs included, only from its own page or a tool (curl sends no
// Sec-Fetch-Site), since reading them spends the API's hourly requests and a page elsewhere could
// fire them through the browser (<img src>, a no-cors fetch). The page itself opens from any link.
import { describe, expect, it } from 'vitest';
import { ConsoleForbiddenError, ConsoleInputError } from '../../functions/console/errors';
import { checkOrigin, pathParams } from '../../functions/console/server';

const PORT = 4777;
const OWN = `http://127.0.0.1:${PORT}`;

type Headers = Record<string, string>;
const request = (method: string, headers: Headers) => ({ method, headers: { host: `127.0.0.1:${PORT}`, ...headers } });

describe('checkOrigin', () => {
  it.each<[string, string, string, Headers]>([
    ['the page fetching its API', 'GET', '/api/entities/c1', { 'sec-fetch-site': 'same-origin' }],
    ['the page fetching its API, with its Origin', 'GET', '/api/decisions', { 'sec-fetch-site': 'same-origin', origin: OWN }],
    ['curl or a script (no Sec-Fetch-Site, no Origin)', 'GET', '/api/status', {}],
    ['a person typing the API address', 'GET', '/api/approvals', { 'sec-fetch-site': 'none' }],
    ['the page opened from a link on another site', 'GET', '/', { 'sec-fetch-site': 'cross-site' }],
    ['its script loaded by the page', 'GET', '/console.js', { 'sec-fetch-site': 'same-origin' }],
    ['an approval from the page', 'POST', '/api/approvals/d_1/approve', { origin: OWN, 'sec-fetch-site': 'same-origin' }],
  ])('accepts %s', (_what, method, path, headers) => {
    expect(() => checkOrigin(request(method, headers), PORT, path)).not.toThrow();
  });

  it.each<[string, string, string, Headers, string]>([
    ['an <img> on another site reading an entity (a preview: API requests)', 'GET', '/api/entities/c1', { 'sec-fetch-site': 'cross-site' }, 'GET /api/entities/c1 from a cross-site page refused'],
    ['a sibling site on the same domain', 'GET', '/api/decisions', { 'sec-fetch-site': 'same-site' }, 'from a same-site page refused'],
    ['a cross-origin fetch that names its origin', 'GET', '/api/decisions', { origin: 'https://evil.example' }, 'GET /api/decisions from origin "https://evil.example" refused'],
    ['a HEAD from another site', 'HEAD', '/api/entities/c1', { 'sec-fetch-site': 'cross-site' }, 'HEAD /api/entities/c1 from a cross-site page refused'],
    ['a POST from another site', 'POST', '/api/approvals/d_1/approve', { origin: 'https://evil.example' }, 'POST from origin "https://evil.example" refused'],
    ['a POST without an origin', 'POST', '/api/simulate', {}, 'POST from no origin refused'],
    ['another host (DNS rebinding)', 'GET', '/api/status', { host: `attacker.example:${PORT}` }, 'Host "attacker.example:4777" is not this console'],
  ])('refuses %s', (_what, method, path, headers, message) => {
    expect(() => checkOrigin(request(method, headers), PORT, path)).toThrow(ConsoleForbiddenError);
    expect(() => checkOrigin(request(method, headers), PORT, path)).toThrow(message);
  });
});

describe('pathParams', () => {
  it('decodes each segment', () => {
    expect(pathParams({ id: 'c0ffee00%2F1%20x' })).toEqual({ id: 'c0ffee00/1 x' });
  });

  it('a malformed escape is the client\'s mistake, named by its segment (a 400, not a 500)', () => {
    const thrown = ((): unknown => {
      try {
        return pathParams({ id: '%E0%A4%A' });
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(ConsoleInputError);
    expect(thrown).toMatchObject({ field: 'path.id', httpStatus: 400, message: 'path.id: "%E0%A4%A" is not a valid URL-encoded segment' });
  });
});
