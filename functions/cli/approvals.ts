// `thrad-rules approvals`, `approve <decision_id>`, `reject <decision_id>`: the person's side of
// approval mode. Rules in `"mode": "approval"` propose; these list the proposals, carry one out
// (only on the entity as it was proposed), or record a refusal.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { DecisionRecord } from '../audit/records';
import { approveProposal, pendingProposals, proposedChange, rejectProposal, type ApprovalResult, type RejectResult } from '../engine/approval';
import { loadRules } from '../rules/validate';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile';
import { localStamp } from '../local/format';
import { parseFlags } from './args';
import { UsageError } from './errors';
import { EXIT } from './output';
import { displayTimeZone, withEnvironment, type CommandContext } from './shared';

export const APPROVALS_HELP = `Usage: thrad-rules approvals [--json] [--utc] [--rules DIR]

Lists the proposals awaiting approval, newest first: rules in "mode": "approval" record what
they would do (the exact change: a status, or a budget or bid in USD) instead of doing it, and
each proposal waits until it expires (guards.approval_expires, default 24h). Proposals whose
time is up are closed as expired on the way.

Then: thrad-rules approve <decision_id>, or thrad-rules reject <decision_id> --reason "...".

Exit codes: 0 ok (also with none pending); 1 store unreachable; 2 wrong usage.

Examples:
  npx thrad-rules approvals
  npx thrad-rules approvals --json`;

export const APPROVE_HELP = `Usage: thrad-rules approve <decision_id> [--by NAME] [--json] [--utc] [--rules DIR]

Carries out a proposal through the same path as the autopilot's own actions, only if the entity
is still exactly as it was when proposed: the same status, the same budget or bid, the same
updated_at, and nobody else holding it. Otherwise it refuses, says what changed, closes the
proposal (the rule proposes again on a later match) and exits 1. The proposal is marked approved
before the call; approving twice, or two people at once, never applies it twice. A proposal of a
rule since removed, disabled or set to dry_run is not carried out.

  --by NAME   who approves, on the record (default: this machine's user name)

If the call's answer is lost (a timeout, a dropped connection), the action is left unconfirmed:
the next autopilot run reads the entity and records whether it happened. A call that failed
cleanly can be approved again.

Exit codes: 0 carried out; 1 refused, failed, unconfirmed, or not found; 2 wrong usage.

Examples:
  npx thrad-rules approvals
  npx thrad-rules approve d_3f2a9c0e5b7d1a4c6e8f0b2d --by dana`;

export const REJECT_HELP = `Usage: thrad-rules reject <decision_id> [--reason TEXT] [--by NAME] [--json]

Records that a person refused a proposal (who, when, and the reason). Nothing is called. The rule
does not propose the same change on that entity again before the proposal would have expired.

Exit codes: 0 rejected; 1 not found, or no longer awaiting approval; 2 wrong usage.

Examples:
  npx thrad-rules reject d_3f2a9c0e5b7d1a4c6e8f0b2d --reason "Black Friday: keep the budget"`;

/** Who a person is, for the record: --by, else THRAD_RULES_USER, USER, or the OS user name. */
export function personName(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const named = [flag, env.THRAD_RULES_USER, env.USER, env.USERNAME].find((v) => v !== undefined && v.trim() !== '');
  if (named !== undefined) return named.trim();
  try {
    return userInfo().username || 'a person';
  } catch {
    return 'a person';
  }
}

function oneId(command: string, positionals: readonly string[]): string {
  const [id, extra] = positionals;
  if (!id || extra !== undefined) {
    throw new UsageError(`${command} takes exactly one decision id; found ${positionals.length === 0 ? 'none' : positionals.length}.`, `List pending proposals with npx thrad-rules approvals, then: npx thrad-rules ${command} <decision_id>`);
  }
  return id;
}

/** The rule set as it is now, for an approval: a proposal of a rule since removed, disabled or set to dry_run is not carried out. */
export function approvalRules(rulesDir: string, cwd: string): CompiledRuleSet | undefined {
  return existsSync(rulesDir) ? compileRuleSet(loadRules([rulesDir], cwd).rules) : undefined;
}

/** What became of an approval, in the words a person reads (the CLI and the console): ok only when carried out. */
export function approvalWords(result: ApprovalResult, id: string, zone: string): { ok: boolean; line: string } {
  if (result.status === 'refused') return { ok: false, line: `Refused: ${localTimes(result.reason, zone)}` };
  const r = result.record;
  if (result.status === 'unconfirmed') return { ok: false, line: `Unconfirmed: ${localTimes(result.reason, zone)} (thrad-rules audit --entity ${r.entity_id}).` };
  if (result.status === 'failed') return { ok: false, line: `Failed: could not carry out ${id} on ${r.level.replace('_', ' ')} "${r.entity_name}": ${localTimes(r.reason, zone)} (recorded as ${r.decision_id}). Approve it again to retry.` };
  return { ok: true, line: `Approved and carried out: ${r.level.replace('_', ' ')} "${r.entity_name}" ${proposedChange(r)} at ${localStamp(r.evaluated_at, zone)}; recorded as ${r.decision_id} (approving ${id}). Undo with: thrad-rules undo ${r.decision_id}` };
}

const ISO_INSTANT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g;

/** The engine's reasons name instants as the record keeps them (ISO, UTC); a person reads them in the zone the command shows times in. */
export function localTimes(text: string, zone: string): string {
  return text.replace(ISO_INSTANT, (iso) => localStamp(iso, zone));
}

/** What became of a rejection, in the words a person reads: ok only when rejected. */
export function rejectionWords(result: RejectResult, id: string, zone: string): { ok: boolean; line: string } {
  if (result.status === 'refused') return { ok: false, line: `Refused: ${localTimes(result.reason, zone)}` };
  const p = result.proposal;
  return { ok: true, line: `Rejected ${id}: ${p.rule_id}'s proposal on ${p.level.replace('_', ' ')} "${p.entity_name}" (${proposedChange(p)}) is not carried out${p.approval?.note ? ` (${p.approval.note})` : ''}; recorded as rejected by ${p.approval?.resolved_by ?? 'you'}.` };
}

function proposalLine(p: DecisionRecord, zone: string): string {
  const expires = p.approval ? localStamp(p.approval.expires_at, zone) : '?';
  return `${p.decision_id}  ${localStamp(p.evaluated_at, zone)}  ${p.rule_id}: ${p.level.replace('_', ' ')} "${p.entity_name}" ${proposedChange(p)}  (expires ${expires})\n    why: ${p.reason}`;
}

export async function approvalsCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean' }, utc: { type: 'boolean' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, ctx.io, APPROVALS_HELP);
  if (values.help) {
    ctx.io.out(APPROVALS_HELP);
    return EXIT.ok;
  }
  return withEnvironment(ctx, { rules: values.rules }, false, async (environment, config) => {
    const { pending, expired } = await pendingProposals(environment.store, await environment.accountId(), environment.clock.nowMs());
    if (values.json) {
      ctx.io.out(JSON.stringify({ pending, expired }, null, 2));
      return EXIT.ok;
    }
    const zone = displayTimeZone(config, ctx, values.utc);
    if (expired.length > 0) ctx.io.out(`${expired.length} proposal${expired.length === 1 ? '' : 's'} expired unapproved and ${expired.length === 1 ? 'was' : 'were'} closed (thrad-rules audit --outcome expired).`);
    if (pending.length === 0) {
      ctx.io.out('No proposals await approval.');
      return EXIT.ok;
    }
    ctx.io.out(`${pending.length} proposal${pending.length === 1 ? '' : 's'} await${pending.length === 1 ? 's' : ''} approval:`);
    for (const p of pending) ctx.io.out(proposalLine(p, zone));
    ctx.io.out('Approve with: thrad-rules approve <decision_id>; reject with: thrad-rules reject <decision_id> --reason "..."');
    return EXIT.ok;
  });
}

export async function approveCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, { by: { type: 'string' }, json: { type: 'boolean' }, utc: { type: 'boolean' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, ctx.io, APPROVE_HELP);
  if (values.help) {
    ctx.io.out(APPROVE_HELP);
    return EXIT.ok;
  }
  const id = oneId('approve', positionals);
  return withEnvironment(ctx, { rules: values.rules }, 'live', async (environment, config) => {
    const result = await approveProposal({ client: environment.client, store: environment.store, clock: environment.clock, rules: approvalRules(config.rulesDir, ctx.cwd) }, await environment.accountId(), id, { deadlineMs: Date.now() + 60_000, by: personName(values.by, ctx.env) });
    if (values.json) ctx.io.out(JSON.stringify(result, null, 2));
    const said = approvalWords(result, id, displayTimeZone(config, ctx, values.utc));
    if (!values.json && said.ok) ctx.io.out(said.line);
    if (!values.json && !said.ok) ctx.io.err(said.line);
    if (!said.ok) return EXIT.failure;
    return EXIT.ok;
  });
}

export async function rejectCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, { reason: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, ctx.io, REJECT_HELP);
  if (values.help) {
    ctx.io.out(REJECT_HELP);
    return EXIT.ok;
  }
  const id = oneId('reject', positionals);
  return withEnvironment(ctx, {}, false, async (environment, config) => {
    const result = await rejectProposal({ store: environment.store, clock: environment.clock }, await environment.accountId(), id, { by: personName(values.by, ctx.env), note: values.reason?.trim() || null });
    if (values.json) ctx.io.out(JSON.stringify(result, null, 2));
    const said = rejectionWords(result, id, displayTimeZone(config, ctx, false));
    if (!values.json && said.ok) ctx.io.out(said.line);
    if (!values.json && !said.ok) ctx.io.err(said.line);
    if (!said.ok) return EXIT.failure;
    return EXIT.ok;
  });
}
