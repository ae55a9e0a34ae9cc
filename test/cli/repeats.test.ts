// `audit` and `report` show the repeats: a dry-run rule that would act at every occurrence is
// written once and shown as "would_act ×N since …" (text), as `repeats` on its first record
// (JSON), and counted in the report; the CLI against the sandbox and dynalite.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { eids, engineFixture, KEY } from '../helpers/fixtures';
import { withSandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '..', '..');

describe('audit and report show repeats', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let env: NodeJS.ProcessEnv;
  let cwd: string;

  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const io: Output = { out: (l) => out.push(l), err: () => undefined, isTTY: false };
    const code = await main(args, { io, cwd, env });
    return { code, out: out.join('\n') };
  }

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'cli-repeats-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    const rule = { id: 'dry-cpc', mode: 'dry_run', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'campaign', when: { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }, then: { action: 'pause' } };
    writeFileSync(join(rulesDir, 'dry-cpc.json'), JSON.stringify(rule, null, 2));
    env = { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: 'cli-repeats', DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: rulesDir, THRAD_RULES_DATA_DIR: join(cwd, 'data') };
    // Four occurrences, 15 minutes apart (11:00–11:45 in New York): the same would_act each time.
    for (let i = 0; i < 4; i += 1) {
      if (i > 0) sandbox.world.clock.advance(15 * 60);
      const run = await cli('run', '--once');
      expect(run.code).toBe(0);
      if (i > 0) expect(run.out).toMatch(/1 would act, .*1 repeated \(counted, not written again\)/);
    }
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it('audit prints one record and its repeat line', async () => {
    const result = await cli('audit');
    expect(result.code).toBe(0);
    const lines = result.out.split('\n');
    expect(lines.filter((l) => l.includes('dry-cpc') && l.includes('would_act (dry)') && !l.includes('×'))).toHaveLength(1);
    expect(result.out).toContain('Repeated unchanged (written once, then counted; the decision named is the first):');
    expect(result.out).toMatch(/dry-cpc {2}Expensive Shoes {2}would_act \(dry\) ×4 since 2026-03-10 11:00 EDT, last 2026-03-10 11:45 EDT {2}d_[0-9a-f]{24}/);
    // Filters apply to the repeats too.
    expect((await cli('audit', '--entity', eids.cheap)).out).not.toContain('×');
    expect((await cli('audit', '--outcome', 'would_act')).out).toContain('×4');
  });

  it('audit --json adds the tally to the first record, keeping every other field', async () => {
    const records = JSON.parse((await cli('audit', '--json', '--rule', 'dry-cpc')).out) as DecisionRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'would_act', entity_id: eids.expensive, evaluated_at: '2026-03-10T15:00:00.000Z', repeats: { count: 4, first_seen: '2026-03-10T15:00:00.000Z', last_seen: '2026-03-10T15:45:00.000Z', open: true } });
    expect(records[0].explanation).not.toBeNull();
  });

  it('report counts the repeats', async () => {
    const result = await cli('report', '--since', '1d', '--out', 'r.html');
    expect(result.code).toBe(0);
    const html = readFileSync(join(cwd, 'r.html'), 'utf8');
    expect(html).toContain('<b>4</b> dry-run');
    expect(html).toContain('<b>3</b> repeated unchanged');
    expect(html).toMatch(/<tr><td>dry-cpc<\/td><td>would_act<\/td><td>×3<\/td><td>2026-03-10 11:00 EDT<\/td><td>2026-03-10 11:45 EDT<\/td><\/tr>/);
  });
});
