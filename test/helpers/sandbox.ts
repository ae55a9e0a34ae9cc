// Start a sandbox on a free loopback port and a client pointed at it, for one test file.
import { ManualClock, type Sleep } from '../../functions/shared/clock';
import { RequestBudget } from '../../functions/thrad/budget';
import { ThradClient, type ThradClientOptions } from '../../functions/thrad/client';
import { StaticApiKeyProvider, type ApiKeyProvider } from '../../functions/thrad/keys';
import type { FixtureInput } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { KEY, smallFixture } from './fixtures';

export async function withSandbox(fixture: FixtureInput = smallFixture()): Promise<Sandbox> {
  return startSandbox({ fixture, port: 0 });
}

/** Retries without waiting: records the delays the client asked for. */
export function recordingSleep(): Sleep & { delays: number[] } {
  const delays: number[] = [];
  const sleep = ((ms: number) => {
    delays.push(ms);
    return Promise.resolve();
  }) as Sleep & { delays: number[] };
  sleep.delays = delays;
  return sleep;
}

export function clientFor(sandbox: Sandbox, options: Partial<ThradClientOptions> & { keyProvider?: ApiKeyProvider } = {}): ThradClient {
  const clock = options.clock ?? sandbox.world.clock;
  return new ThradClient({
    baseUrl: sandbox.apiUrl,
    keyProvider: options.keyProvider ?? new StaticApiKeyProvider(KEY),
    clock,
    sleep: options.sleep ?? recordingSleep(),
    random: () => 0.5,
    requestTimeoutMs: 2_000,
    budget: options.budget ?? new RequestBudget(clock),
    ...options,
  });
}

/** JSON helpers for raw HTTP against the sandbox (the control API, and shapes the client hides). */
export async function http(
  sandbox: Sandbox,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${sandbox.url}${path}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export const auth = (key: string = KEY): Record<string, string> => ({ Authorization: `Bearer ${key}` });

export { ManualClock };
