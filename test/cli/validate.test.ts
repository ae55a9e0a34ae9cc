// `thrad-rules validate` and `thrad-rules schema`, in-process and as the real bin.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';

const ROOT = resolve(__dirname, '..', '..');
const run = promisify(execFile);

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), isTTY: false };
}

async function cli(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const io = capture();
  const code = await main(args, { io, cwd, env: {} });
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('thrad-rules validate', () => {
  it('exits 0 with a one-line summary for the shipped rules', async () => {
    const result = await cli(['validate']);
    expect(result).toEqual({ code: 0, stdout: ['✓ 10 rules in 10 files valid'], stderr: [] });
  });

  it('exits 1 with one file:path: message line per problem', async () => {
    const dir = mkdtempSync(join(ROOT, '.tmp', 'cli-rules-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ id: 'bad', mode: 'live', schedule: { expression: 'rate(5 minutes)' }, level: 'campaign', when: { metric: 'ctr', window: 'today', op: 'gt', value: 5 }, then: { action: 'pause' }, guards: { min_data: { impressions: 10 } } }));
    writeFileSync(join(dir, 'broken.json'), '{"id": ');
    writeFileSync(join(dir, 'good.json'), readFileSync(join(ROOT, 'rules', 'cpc-guard.json'), 'utf8'));
    const result = await cli(['validate', dir], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([
      'bad.json:when.value: ctr is a fraction (0.05 = 5%), so 5 would mean 500%. Did you mean 0.05? (rule bad)',
      'broken.json:(root): not valid JSON at line 1, column 8: expected a value, found the end of the file',
    ]);
    expect(result.stderr).toEqual(['✗ 2 problems in 2 of 3 files; 1 rule valid']);
  });

  it('--json gives the rules and issues for machines', async () => {
    const result = await cli(['validate', '--json', 'rules/cpc-guard.json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout.join('\n')) as { valid: boolean; rules: { id: string; version: string }[]; issues: unknown[] };
    expect(json).toMatchObject({ valid: true, files: 1, issues: [], rules: [{ id: 'cpc-guard', file: 'rules/cpc-guard.json', level: 'campaign', mode: 'live', enabled: true }] });
  });

  it('says when there is nothing to validate, and refuses unknown flags with usage', async () => {
    const empty = mkdtempSync(join(ROOT, '.tmp', 'cli-empty-'));
    expect((await cli(['validate', empty])).code).toBe(1);
    const wrong = await cli(['validate', '--jsn']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr[0]).toContain("Unknown option '--jsn'");
    expect((await cli(['validate', '--help'])).stdout[0]).toContain('Usage: thrad-rules validate');
    expect((await cli(['frobnicate'])).code).toBe(2);
  });

  it('works as the package bin (npx thrad-rules)', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'thrad-rules.cjs'), 'validate'], { cwd: ROOT });
    expect(stdout.trim()).toBe('✓ 10 rules in 10 files valid');
    const failed = await run(process.execPath, [join(ROOT, 'bin', 'thrad-rules.cjs'), 'validate', 'nope.json'], { cwd: ROOT }).catch((e: { code: number; stdout: string }) => e);
    expect(failed).toMatchObject({ code: 1, stdout: 'nope.json:(root): no such file or directory\n' });
  });
});

describe('thrad-rules schema', () => {
  it('prints the committed rules/schema.json', async () => {
    const result = await cli(['schema']);
    expect(`${result.stdout.join('\n')}\n`).toBe(readFileSync(join(ROOT, 'rules', 'schema.json'), 'utf8'));
  });
});
