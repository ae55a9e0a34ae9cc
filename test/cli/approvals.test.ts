// Approval mode as a person uses it, through the CLI against a sandbox and dynalite: a rule in
// "mode": "approval" proposes budget changes on `run --once`; `approvals` lists them; `approve`
// carries one out (once, however often it is approved); `approve` refuses a proposal whose
// campaign a person changed since, says what changed and exits 1; `reject` records the refusal.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import type { Sandbox } from '../../sandbox/server';
import { eids, engineFixture, KEY } from '../helpers/fixtures';
import { auth, http, withSandbox } from '../helpers/sandbox';
import { runCli, type CliRun } from '../helpers/cli';

const ROOT = resolve(__dirname, '..', '..');

const SCALE = {
  id: 'scale-winners',
  mode: 'approval',
  schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' },
  level: 'campaign',
  when: { field: 'status', op: 'eq', value: 'active' },
  then: { action: 'change_budget', by_percent: 20, max_usd: 20_000 },
  guards: { cooldown: '1d', approval_expires: '12h' },
  priority: 5,
};

describe('approval mode through the CLI', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let env: NodeJS.ProcessEnv;
  let cwd: string;
  let proposals: DecisionRecord[];
  const proposalFor = (id: string): DecisionRecord => proposals.find((p) => p.entity_id === id) as DecisionRecord;
  const budgetOf = (id: string): number | undefined => sandbox.world.campaigns.get(id)?.budget_micros;
  const updates = (): number => sandbox.requests().filter((r) => r.method === 'POST' && /^\/v1\/campaigns\/[^/]+$/.test(r.path) && r.status === 200).length;

  const cli = (...args: string[]): Promise<CliRun> => runCli(args, { cwd, env });

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    cwd = mkdtempSync(join(ROOT, '.tmp', 'cli-approvals-'));
    const rulesDir = join(cwd, 'rules');
    mkdirSync(rulesDir);
    writeFileSync(join(rulesDir, 'scale-winners.json'), JSON.stringify(SCALE, null, 2));
    env = { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: sandbox.apiUrl, AUDIT_TABLE_NAME: 'cli-approvals', DYNAMODB_ENDPOINT: dynamo.endpoint, THRAD_RULES_DIR: rulesDir, THRAD_RULES_DATA_DIR: join(cwd, 'data'), USER: 'dana' };
    const run = await cli('run', '--once');
    expect(run.code).toBe(0);
    expect(run.out.split('\n').filter((l) => l.includes('⧗ awaiting approval'))).toHaveLength(3);
    proposals = (JSON.parse((await cli('approvals', '--json')).out) as { pending: DecisionRecord[] }).pending;
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });

  it('run --once proposes instead of acting: the exact change, an expiry, nothing called', () => {
    expect(proposals).toHaveLength(3);
    expect(proposalFor(eids.cheap)).toMatchObject({ outcome: 'awaiting_approval', mode: 'approval', action: 'change_budget', value_before_micros: 10_000_000_000, target: 12_000_000_000, approval: { resolved_at: null } });
    const p = proposalFor(eids.cheap);
    expect(Date.parse(p.approval?.expires_at ?? '') - Date.parse(p.evaluated_at)).toBe(12 * 3_600_000);
    expect(budgetOf(eids.cheap)).toBe(10_000_000_000);
    expect(updates()).toBe(0);
  });

  it('approvals lists each proposal with its change and expiry', async () => {
    const result = await cli('approvals');
    expect(result.code).toBe(0);
    expect(result.out).toContain('3 proposals await approval:');
    expect(result.out).toMatch(new RegExp(`${proposalFor(eids.cheap).decision_id} {2}2026-03-10 11:\\d\\d EDT {2}scale-winners: campaign "Cheap Socks" lifetime budget \\$10,000\\.00 → \\$12,000\\.00 {2}\\(expires 2026-03-10 23:\\d\\d EDT\\)`));
  });

  it('approve carries the proposal out once, however often it is approved', async () => {
    const id = proposalFor(eids.cheap).decision_id;
    const result = await cli('approve', id);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/^Approved and carried out: campaign "Cheap Socks" lifetime budget \$10,000\.00 → \$12,000\.00 at 2026-03-10 11:\d\d EDT; recorded as a_[0-9a-f]{24} \(approving d_[0-9a-f]{24}\)\. Undo with: thrad-rules undo a_/);
    expect(budgetOf(eids.cheap)).toBe(12_000_000_000);
    const again = await cli('approve', id);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^Refused: Proposal d_[0-9a-f]{24} was already approved by dana and carried out by a_[0-9a-f]{24} .* \(outcome acted\); approving again never applies it twice\.$/);
    expect(budgetOf(eids.cheap)).toBe(12_000_000_000);
    expect(updates()).toBe(1);
    const [acted] = JSON.parse((await cli('audit', '--json', '--entity', eids.cheap, '--outcome', 'acted')).out) as DecisionRecord[];
    expect(acted).toMatchObject({ trigger: 'approval', mode: 'live', approves: id, value_before_micros: 10_000_000_000, value_after_micros: 12_000_000_000, reason: expect.stringMatching(/^approved by dana: /) as unknown });
    const [proposal] = JSON.parse((await cli('audit', '--json', '--entity', eids.cheap, '--outcome', 'approved')).out) as DecisionRecord[];
    expect(proposal).toMatchObject({ decision_id: id, approval: { resolved_by: 'dana', decision_id: acted.decision_id } });
  });

  it('approve refuses a proposal whose campaign a person changed since, says what changed, exits 1', async () => {
    const p = proposalFor(eids.night);
    sandbox.world.clock.advance(60); // seconds
    const person = await http(sandbox, 'POST', `/v1/campaigns/${eids.night}`, { budget: { lifetime_spend_limit_micros: 11_000_000_000 } }, auth());
    expect(person.status).toBe(200);
    const result = await cli('approve', p.decision_id);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^Refused: campaign "Owl Lamps \[night\]": it changed since it was proposed at .* \(lifetime budget \$10,000\.00 → \$11,000\.00, updated_at .*\)\. Not approved: a proposal is carried out only on the entity as it was proposed \(lifetime budget \$10,000\.00 → \$12,000\.00\); the proposal is closed, and the rule proposes again on a later match\.$/);
    expect(budgetOf(eids.night)).toBe(11_000_000_000);
    expect(updates()).toBe(2); // the approval above and the person's change; nothing from this approve
    expect((await cli('approve', p.decision_id)).err).toMatch(/was expired by autopilot at .* \(not carried out: it changed since it was proposed/);
  });

  it('reject records who refused and why; the proposal cannot be approved after', async () => {
    const p = proposalFor(eids.expensive);
    const result = await cli('reject', p.decision_id, '--reason', 'Black Friday: keep the budget');
    expect(result.code).toBe(0);
    expect(result.out).toBe(`Rejected ${p.decision_id}: scale-winners's proposal on campaign "Expensive Shoes" (lifetime budget $10,000.00 → $12,000.00) is not carried out (Black Friday: keep the budget); recorded as rejected by dana.`);
    const approve = await cli('approve', p.decision_id);
    expect(approve.code).toBe(1);
    expect(approve.err).toContain('was rejected by dana at');
    expect(budgetOf(eids.expensive)).toBe(10_000_000_000);
    expect((await cli('reject', p.decision_id)).code).toBe(1);
  });

  it('nothing is pending any more, and the commands have help and usage errors', async () => {
    expect((await cli('approvals')).out).toBe('No proposals await approval.');
    for (const command of ['approvals', 'approve', 'reject']) {
      const help = await cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.out).toContain(`thrad-rules ${command}`);
    }
    expect((await cli('approve')).code).toBe(2);
    expect((await cli('reject', 'a', 'b')).code).toBe(2);
    expect((await cli('approve', 'd_nope')).err).toMatch(/^Refused: No decision d_nope/);
  });
});
