// The engine process killed (a real child process, SIGKILL) at random points of a live cycle,
// then a restart, twenty times: once the next run has reconciled, the audit trail never shows an
// action the API did not see, nor lacks one the API took. Asserted from the sandbox's request log
// and the audit table.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { MemoryNotifier } from '../../functions/engine/notifier';
import { Engine } from '../../functions/engine/cycle';
import { ThradClient } from '../../functions/thrad/client';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { ManualClock } from '../../functions/shared/clock';
import type { Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, engineFixture, KEY, T0 } from '../helpers/fixtures';
import { rulesWithoutCooldowns } from '../helpers/engine';
import { withSandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '..', '..');
const CHILD = resolve(ROOT, '.tmp', 'crash-child.js');
const STATUS_CALL = /\/(pause|activate|archive)$/;
const ROUNDS = 20;

describe('killed at random points, then restarted', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  const table = `crash-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    await build({ entryPoints: [resolve(__dirname, '..', 'helpers', 'crash-child.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: CHILD, logLevel: 'silent', external: ['@aws-sdk/*', 'dynalite'] });
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    store = new AuditStore({ tableName: table, client: dynamo.client, clock: sandbox.world.clock });
    await store.ensureTable();
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  function runChild(occurrenceMs: number, killAfterMs: number): Promise<{ killed: boolean; output: string }> {
    return new Promise((resolveRun) => {
      const child = spawn(process.execPath, [CHILD], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          CRASH_NOW_MS: String(sandbox.world.clock.nowMs()),
          CRASH_API_URL: sandbox.apiUrl,
          CRASH_KEY: KEY,
          CRASH_DYNAMO: dynamo.endpoint,
          CRASH_TABLE: table,
          CRASH_ACCOUNT: ACCOUNT_ID,
          CRASH_OCCURRENCE_MS: String(occurrenceMs),
        },
      });
      let output = '';
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (!timer && output.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('exit', (_code, signal) => {
        if (timer) clearTimeout(timer);
        resolveRun({ killed: signal === 'SIGKILL', output });
      });
    });
  }

  it(`${ROUNDS} rounds: the audit trail and the API agree after the next run`, async () => {
    const delays = fc.sample(fc.integer({ min: 0, max: 140 }), { numRuns: ROUNDS, seed: 4242 });
    let killed = 0;
    let reconciled = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      sandbox.reset(engineFixture());
      sandbox.clearRequests();
      const occurrenceMs = T0 * 1000 + round * 15 * 60_000;
      const occurrence = new Date(occurrenceMs).toISOString();
      const first = await runChild(occurrenceMs, delays[round]);
      // The child ran (it was killed, or finished its cycle), never died on its own.
      expect(first.output, `round ${round}`).toContain('ready');
      expect(first.killed || first.output.includes('done'), `round ${round}: ${first.output}`).toBe(true);
      if (first.killed) killed += 1;

      // The restart: a fresh engine, later (every lease of the dead process is over).
      const later = new ManualClock(Date.now() + 10 * 60_000);
      const restartStore = new AuditStore({ tableName: table, client: dynamo.client, clock: sandbox.world.clock, realClock: later });
      const engine = new Engine({ client: new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(KEY), clock: sandbox.world.clock }), store: restartStore, rules: rulesWithoutCooldowns(), notifier: new MemoryNotifier(), clock: sandbox.world.clock, realClock: later, accountId: ACCOUNT_ID });
      const restart = await engine.runCycle({ scheduledTime: occurrenceMs, scheduleId: 'crash-schedule', deadlineMs: later.nowMs() + 60_000, trigger: 'schedule' });
      expect(restart.summary.status, `round ${round}: ${JSON.stringify(restart.summary.errors)}`).not.toBe('failed');
      reconciled += restart.summary.counts.reconciled ?? 0;

      const calls = sandbox.requests().filter((q) => q.method === 'POST' && STATUS_CALL.test(q.path));
      const landed = calls.filter((c) => c.effect);
      const decisions = (await store.queryDecisions(ACCOUNT_ID, { sinceMs: 0, limit: 10_000 })).filter((d) => d.scheduled_time === occurrence);
      const acted = decisions.filter((d) => d.outcome === 'acted');
      const context = `round ${round} (killed after ${String(delays[round])} ms: ${String(first.killed)})`;
      // Every action the API took is in the trail as acted, under the decision that made it...
      expect(new Set(landed.map((c) => c.idempotency_key)), context).toEqual(new Set(acted.map((d) => d.decision_id)));
      // ...each landed once, and the trail shows no action the API did not see.
      expect(landed.length, context).toBe(acted.length);
      expect(decisions.filter((d) => d.outcome === 'pending'), context).toEqual([]);
      // The world ends as the rules want it, whatever the kill point.
      expect(acted.map((d) => d.rule_id).sort(), context).toEqual(['activate-approved', 'night-pause', 'pause-expensive']);
    }
    // Most rounds really died mid-cycle, and some of them between an intent and its outcome.
    expect(killed).toBeGreaterThanOrEqual(ROUNDS / 2);
    expect(reconciled).toBeGreaterThanOrEqual(1);
    console.log(`crash rounds: ${killed} of ${ROUNDS} killed mid-cycle, ${reconciled} intents reconciled`);
  }, 120_000);
});
