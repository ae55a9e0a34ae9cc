// The console's simulator stops when the request that started it closes (the page left, Ctrl-C):
// an --until of years would otherwise keep the console simulating, unseen, and keep it from
// exiting. The route is called as the server calls it, over a real environment (no key: the
// bundled sandbox and an embedded store in a temp folder), with the request's signal aborted.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type ConsoleDeps } from '../../functions/console/api';
import { ConsoleError } from '../../functions/console/errors';
import type { Output } from '../../functions/cli/output';
import { loadConfig } from '../../functions/local/config';
import { openEnvironment, type LocalEnvironment } from '../../functions/local/environment';
import { DEMO_FIXTURE_PATH } from '../../sandbox/fixture';

const ROOT = join(__dirname, '..', '..');
let dataDir: string;
let environment: LocalEnvironment;
let deps: ConsoleDeps;
const lines: string[] = [];

beforeAll(async () => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  dataDir = mkdtempSync(join(ROOT, '.tmp', 'console-sim-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, THRAD_RULES_DATA_DIR: dataDir };
  const config = loadConfig({}, env, ROOT);
  environment = await openEnvironment(config, { role: 'cli', needApi: true, env });
  const io: Output = { out: (l) => lines.push(l), err: (l) => lines.push(l), isTTY: false };
  deps = { environment, config, cwd: ROOT, env, io };
});

afterAll(async () => {
  await environment.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('POST /api/simulate', () => {
  const simulate = ROUTES.find((r) => r.method === 'POST' && r.path === '/api/simulate');

  it('stops when the request closes, before simulating anything, and says so (503)', async () => {
    if (!simulate) throw new Error('no simulate route');
    const body = { fixture: { path: DEMO_FIXTURE_PATH }, until: '99999d' };
    const run = simulate.run(deps, {}, new URLSearchParams(), body, AbortSignal.abort());
    await expect(run).rejects.toBeInstanceOf(ConsoleError);
    await expect(run).rejects.toMatchObject({ httpStatus: 503, message: 'The simulation was stopped: the request closed before it ended (at 2026-11-20T02:50:00.000Z, simulated, after 0 runs).' });
  });

  it('with the request open, simulates to the end', async () => {
    if (!simulate) throw new Error('no simulate route');
    const reply = await simulate.run(deps, {}, new URLSearchParams(), { fixture: { path: DEMO_FIXTURE_PATH }, until: '30m' }, new AbortController().signal);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ from: '2026-11-20T02:50:00.000Z', until: '2026-11-20T03:20:00.000Z' });
    expect((reply.body as { runs: number }).runs).toBeGreaterThan(0);
  });
});
