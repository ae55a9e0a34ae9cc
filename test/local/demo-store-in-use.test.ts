// A new demo (the runner) starts from a fresh store, and never deletes it from under a process
// that has the last demo's store open (a console started after the demo stopped), which would go
// on showing the old demo's records while the new one wrote elsewhere. It refuses, naming what to do.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/local/config';
import { openEnvironment } from '../../functions/local/environment';
import { EnvironmentError } from '../../functions/local/errors';

const ROOT = join(__dirname, '..', '..');
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const dataDir = mkdtempSync(join(ROOT, '.tmp', 'demo-in-use-'));
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, THRAD_RULES_DATA_DIR: dataDir };
const config = loadConfig({}, env, ROOT);

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the runner and the demo store another process holds', () => {
  it('refuses to start while a command has the demo store open, and starts once it is closed', async () => {
    // A demo ran and stopped: its store is on disk.
    const first = await openEnvironment(config, { role: 'runner', needApi: true, sandboxPort: 0, env });
    await first.close();
    // A console (or report, preview) opens it afterwards.
    const consoleSide = await openEnvironment(config, { role: 'cli', needApi: true, env });
    const refused = await openEnvironment(config, { role: 'runner', needApi: true, sandboxPort: 0, env }).then(
      (environment) => environment.close().then(() => null),
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(EnvironmentError);
    expect((refused as Error).message).toMatch(/^The demo's store in .*db is open in another process \(another autopilot, or a console, report or preview started after the last demo\)\. Stop it \(Ctrl-C\), then start the autopilot again/);
    // Nothing was deleted from under it: the console's store still answers.
    expect(await consoleSide.store.queryDecisions(await consoleSide.accountId(), { sinceMs: 0, limit: 1 })).toEqual([]);
    await consoleSide.close();
    const second = await openEnvironment(config, { role: 'runner', needApi: true, sandboxPort: 0, env });
    await second.close();
  });
});
