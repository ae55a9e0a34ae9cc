// The engine process killed (a real child process, SIGKILL) mid-cycle, then a restart: first at
// every chosen crash point (after each intent is written, after each call), so the reconciliation
// paths run on every CI run whatever the machine's speed; then at random times on top. Once the
// next run has reconciled, the audit trail never shows an action the API did not see, nor lacks one
// the API took. Asserted from the sandbox's request log and the audit table.
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
/** The three intents of a cycle of the engine test rules, each killed before and after its call. */
const CHOSEN = [1, 2, 3].flatMap((n) => [`afterIntent:${n}`, `afterCall:${n}`]);
const RANDOM_ROUNDS = 14;

describe('killed mid-cycle, then restarted', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    await build({ entryPoints: [resolve(__dirname, '..', 'helpers', 'crash-child.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: CHILD, logLevel: 'silent', external: ['@aws-sdk/*', 'dynalite'] });
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  function runChild(table: string, occurrenceMs: number, kill: { point: string } | { afterMs: number }): Promise<{ killed: boolean; output: string }> {
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
          CRASH_POINT: 'point' in kill ? kill.point : '',
        },
      });
      let output = '';
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (!timer && 'afterMs' in kill && output.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('exit', (_code, signal) => {
        if (timer) clearTimeout(timer);
        resolveRun({ killed: signal === 'SIGKILL', output });
      });
    });
  }

  /** One round on a fresh world and a fresh table: the child's cycle, its death, the restart, the checks. */
  async function round(label: string, kill: { point: string } | { afterMs: number }, index: number): Promise<{ killed: boolean; reconciled: number }> {
    sandbox.reset(engineFixture());
    const table = `crash-${randomBytes(3).toString('hex')}`;
    const store = new AuditStore({ tableName: table, client: dynamo.client, clock: sandbox.world.clock });
    await store.ensureTable();
    const occurrenceMs = T0 * 1000 + index * 15 * 60_000;
    const occurrence = new Date(occurrenceMs).toISOString();
    const first = await runChild(table, occurrenceMs, kill);
    // The child ran (it was killed, or finished its cycle), never died on its own.
    expect(first.output, label).toContain('ready');
    expect(first.killed || first.output.includes('done'), `${label}: ${first.output}`).toBe(true);

    // The restart: a fresh engine, later (every lease of the dead process is over).
    const later = new ManualClock(Date.now() + 10 * 60_000);
    const restartStore = new AuditStore({ tableName: table, client: dynamo.client, clock: sandbox.world.clock, realClock: later });
    const engine = new Engine({ client: new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(KEY), clock: sandbox.world.clock }), store: restartStore, rules: rulesWithoutCooldowns(), notifier: new MemoryNotifier(), clock: sandbox.world.clock, realClock: later, accountId: ACCOUNT_ID });
    const restart = await engine.runCycle({ scheduledTime: occurrenceMs, scheduleId: 'crash-schedule', deadlineMs: later.nowMs() + 60_000, trigger: 'schedule' });
    expect(restart.summary.status, `${label}: ${JSON.stringify(restart.summary.errors)}`).not.toBe('failed');

    const calls = sandbox.requests().filter((q) => q.method === 'POST' && STATUS_CALL.test(q.path));
    const landed = calls.filter((c) => c.effect);
    const decisions = (await store.queryDecisions(ACCOUNT_ID, { sinceMs: 0, limit: 10_000 })).filter((d) => d.scheduled_time === occurrence);
    const acted = decisions.filter((d) => d.outcome === 'acted');
    const context = `${label} (killed: ${String(first.killed)})`;
    // Every action the API took is in the trail as acted, under the decision that made it...
    expect(new Set(landed.map((c) => c.idempotency_key)), context).toEqual(new Set(acted.map((d) => d.decision_id)));
    // ...each landed once, and the trail shows no action the API did not see.
    expect(landed.length, context).toBe(acted.length);
    expect(decisions.filter((d) => d.outcome === 'pending'), context).toEqual([]);
    // The world ends as the rules want it, whatever the kill point.
    expect(acted.map((d) => d.rule_id).sort(), context).toEqual(['activate-approved', 'night-pause', 'pause-expensive']);
    return { killed: first.killed, reconciled: restart.summary.counts.reconciled ?? 0 };
  }

  it.each(CHOSEN.map((point, i) => [point, i] as const))('killed %s (the nth intent written / call made): reconciled by the next run', async (point, i) => {
    const result = await round(point, { point }, i);
    // Deterministic: the child always dies there, with one intent left between intent and outcome.
    expect(result.killed).toBe(true);
    expect(result.reconciled).toBe(1);
  }, 60_000);

  it(`${RANDOM_ROUNDS} random kills on top: the audit trail and the API agree after the next run`, async () => {
    const delays = fc.sample(fc.integer({ min: 0, max: 140 }), { numRuns: RANDOM_ROUNDS, seed: 4242 });
    let killed = 0;
    for (let i = 0; i < RANDOM_ROUNDS; i += 1) {
      const result = await round(`random round ${i} (after ${String(delays[i])} ms)`, { afterMs: delays[i] }, CHOSEN.length + i);
      if (result.killed) killed += 1;
    }
    console.log(`crash rounds: ${killed} of ${RANDOM_ROUNDS} random kills landed mid-cycle`);
  }, 120_000);
});
