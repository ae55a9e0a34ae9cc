// `run --orgs FILE` at start: an org whose key variable is not set cannot start, and is named and
// left out like an org whose key is refused; the others are served. (Found in the hunt on today's
// changes: the fleet built each org's environment outside the per-org guard, so one org's unset
// variable stopped every org, and the first org's stopped them before any was tried.)
//
// Real components: the fleet the CLI builds (openFleet), real engines over HTTP against a frozen
// generated sandbox of two organizations, the audit store in dynalite.
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFleet } from '../../functions/cli/run-orgs';
import type { Output } from '../../functions/cli/output';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { FileOrgRegistry } from '../../functions/orgs/file';
import { generateFixture } from '../../sandbox/generate';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { runCli } from '../helpers/cli';

const ROOT = resolve(__dirname, '..', '..');
const TICK = Date.parse('2026-11-24T03:00:00Z');
const TABLE = 'fleet-start-audit';

describe('run --orgs: an org whose key variable is not set', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let cwd: string;
  let orgsFile: string;
  let env: NodeJS.ProcessEnv;
  let accounts: [string, string];

  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: generateFixture({ orgs: 2, campaigns: 4, seed: 5, now: TICK / 1000 - 60 }), port: 0, clockSpeed: 0 });
    const [a, b] = sandbox.world.orgs;
    if (!a || !b) throw new Error('two organizations expected');
    accounts = [a.account.id, b.account.id];
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'fleet-start-'));
    orgsFile = join(cwd, 'orgs.json');
    env = { KEY_A: a.keys[0]?.key ?? '', KEY_B: b.keys[0]?.key ?? '', THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: TABLE, DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: join(ROOT, 'rules'), THRAD_RULES_DATA_DIR: join(cwd, 'data') };
    expect((await runCli(['orgs', 'add', '--orgs', orgsFile, '--org', 'acme', '--key-env', 'KEY_A'], { cwd, env })).code).toBe(0);
    expect((await runCli(['orgs', 'add', '--orgs', orgsFile, '--org', 'globex', '--key-env', 'KEY_B'], { cwd, env })).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it.each([
    ['the second org (globex)', 'KEY_B', 'globex', 'acme', 0],
    ['the first org (acme), whose environment the fleet was opened with', 'KEY_A', 'acme', 'globex', 1],
  ] as const)('%s is named and left out; the other is served', async (_what, unset, left, served, servedIndex) => {
    const { [unset]: _dropped, ...without } = env;
    const err: string[] = [];
    const out: string[] = [];
    const io: Output = { out: (line) => out.push(line), err: (line) => err.push(line), isTTY: false };
    const registry = new FileOrgRegistry(orgsFile);
    const opened = await openFleet({ concurrency: 2 }, { io, cwd, env: without, orgs: registry.read(), registry });
    try {
      expect(opened, err.join('\n')).not.toBeNull();
      expect(err).toEqual([`Organization ${left} is not served: Organization "${left}": its key variable ${unset} is not set (the orgs file ${orgsFile} says the key is there). Set it, or change the entry's "api_key_env".`]);
      expect(out.filter((l) => l.startsWith('Organization ')), out.join('\n')).toEqual([expect.stringMatching(new RegExp(`^Organization ${served}: account ${accounts[servedIndex]}, \\d+ rules from `))]);
      expect(out).toContain('Serving 1 of 2 organizations, 2 at a time.');
    } finally {
      await opened?.environment.close();
    }
  });
});
