// `npm run sandbox` as a user runs it: a real child process, its banner, curl-like calls, Ctrl-C.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnyFixture } from '../../sandbox/fixture';
import { generatedKey, generateFixture } from '../../sandbox/generate';

const ROOT = resolve(__dirname, '..', '..');
const TSX = resolve(ROOT, 'node_modules', '.bin', 'tsx');

function run(args: string[]): { child: ReturnType<typeof spawn>; output: () => string; exit: Promise<number | null>; line: (pattern: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn(TSX, ['sandbox/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (chunk: Buffer): void => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exit,
    line: (pattern) =>
      new Promise((resolveLine, reject) => {
        const m = out.match(pattern);
        if (m) return resolveLine(m);
        waiters.push({ pattern, resolve: resolveLine });
        setTimeout(() => reject(new Error(`no line matching ${String(pattern)} in:\n${out}`)), 15_000);
      }),
  };
}

describe('npm run sandbox', () => {
  it('prints where it listens, serves the quickstart calls, and stops on Ctrl-C', async () => {
    const proc = run(['--port', '0', '--clock-speed', '0']);
    const [, url] = await proc.line(/Thrad sandbox listening on (http:\/\/127\.0\.0\.1:\d+\/v1)\n/);
    const key = 'ak_sandbox_demo_4f8e2c1b9d';
    const account = await fetch(`${url}/ad_account`, { headers: { Authorization: `Bearer ${key}` } });
    expect(account.status).toBe(200);
    expect(await account.json()).toMatchObject({ name: 'Demo Outdoor Co', timezone: 'UTC', currency_code: 'USD' });
    const unauthenticated = await fetch(`${url}/campaigns`);
    expect(unauthenticated.status).toBe(401);
    proc.child.kill('SIGINT');
    expect(await proc.exit).toBe(0);
    expect(proc.output()).not.toContain(key);
  });

  it('refuses a bad fixture, naming the path, and does not start', async () => {
    const bad = resolve(ROOT, '.tmp', 'bad-fixture.json');
    writeFileSync(bad, JSON.stringify({ api_keys: ['ak_x_1234'], account: {}, campaigns: [{ name: 'ab' }] }));
    const proc = run(['--port', '0', '--fixture', bad]);
    expect(await proc.exit).toBe(2);
    expect(proc.output()).toContain('account.id');
    expect(proc.output()).toContain('campaigns[0].name');
    expect(proc.output()).not.toContain('listening');
  });

  it('starts on a generated world, prints how many organizations and the first key, and writes the fixture', async () => {
    const out = resolve(ROOT, '.tmp', 'generated-cli.json');
    const proc = run(['--port', '0', '--clock-speed', '0', '--seed', '4', '--generate', 'orgs=3,campaigns=12,now=1773154800', '--write-fixture', out]);
    const [, url] = await proc.line(/Thrad sandbox listening on (http:\/\/127\.0\.0\.1:\d+\/v1)\n/);
    await proc.line(/Every key, account and campaign: .*generated-cli\.json/);
    expect(proc.output()).toContain('Generated world (seed 4): 3 organizations × 12 campaigns = 36 campaigns');
    expect(proc.output()).toContain(`has ${generatedKey(4, 0)}`);
    const expected = generateFixture({ orgs: 3, campaigns: 12, seed: 4, now: 1_773_154_800 });
    const account = await fetch(`${url}/ad_account`, { headers: { Authorization: `Bearer ${generatedKey(4, 2)}` } });
    expect(((await account.json()) as { id: string }).id).toBe(expected.organizations[2]?.account.id);
    proc.child.kill('SIGINT');
    expect(await proc.exit).toBe(0);
    expect(parseAnyFixture(JSON.parse(readFileSync(out, 'utf8')))).toEqual(expected);
  });

  it.each([
    [['--generate', 'orgs=x,campaigns=5'], '--generate: orgs must be a whole number (got "x")'],
    [['--generate', 'orgs=2'], '--generate: campaigns= is required'],
    [['--generate', 'orgs=2,campaigns=2', '--fixture', 'sandbox/fixtures/demo.json'], 'Give --fixture or --generate, not both.'],
    [['--write-fixture', '.tmp/x.json'], '--write-fixture writes a generated world: use it with --generate.'],
  ])('refuses %j with exit 2 and a clear message', async (args, message) => {
    const proc = run(['--port', '0', ...args]);
    expect(await proc.exit).toBe(2);
    expect(proc.output()).toContain(message);
    expect(proc.output()).not.toContain('listening');
  });

  it('explains a wrong flag', async () => {
    const proc = run(['--port', 'abc']);
    expect(await proc.exit).toBe(2);
    expect(proc.output()).toContain('--port must be an integer');
  });
});
