// `thrad-rules undo <decision_id>`: reverse an automated pause or activation, if nobody changed
// the entity since; the undo is recorded as its own decision.
import { pastTense } from '../engine/describe';
import { undoDecision } from '../engine/undo';
import { localStamp } from '../local/format';
import { parseFlags } from './args';
import { UsageError } from './errors';
import { EXIT } from './output';
import { displayTimeZone, withEnvironment, type CommandContext } from './shared';

export const UNDO_HELP = `Usage: thrad-rules undo <decision_id> [--json] [--utc] [--rules DIR]

Reverses an automated status action (a pause is undone by activating, an activation by pausing)
only if the entity is still in the state that decision left it in. Otherwise it refuses and says
who changed what, as far as the audit trail shows. Archiving is final and cannot be undone. The
undo is recorded as its own decision (rule "manual-undo"), so rules limited by only_if_paused_by
will not undo it in turn.

If the call's answer is lost (a timeout, a dropped connection), the undo is left unconfirmed: the
next autopilot run reads the entity and records whether it happened.

Times are printed in the rules' time zone when they share one (else this machine's; read from
--rules DIR or THRAD_RULES_DIR); --utc prints UTC.

Exit codes: 0 undone; 1 refused, failed, unconfirmed, or not found; 2 wrong usage.

Examples:
  npx thrad-rules audit --outcome acted --limit 5      # find the decision id
  npx thrad-rules undo d_3f2a9c0e5b7d1a4c6e8f0b2d`;

export async function undoCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = parseFlags(args, { json: { type: 'boolean' }, utc: { type: 'boolean' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, ctx.io, UNDO_HELP);
  if (parsed.values.help) {
    ctx.io.out(UNDO_HELP);
    return EXIT.ok;
  }
  const [decisionId, extra] = parsed.positionals;
  if (!decisionId || extra !== undefined) {
    throw new UsageError(`undo takes exactly one decision id; found ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.length}.`, 'Find the id with npx thrad-rules audit --outcome acted --limit 5, then: npx thrad-rules undo <decision_id>');
  }
  return withEnvironment(ctx, { rules: parsed.values.rules }, 'live', async (environment, config) => {
    const result = await undoDecision({ client: environment.client, store: environment.store, clock: environment.clock }, await environment.accountId(), decisionId, { deadlineMs: Date.now() + 60_000 });
    if (parsed.values.json) ctx.io.out(JSON.stringify(result, null, 2));
    if (result.status === 'refused') {
      if (!parsed.values.json) ctx.io.err(`Refused: ${result.reason}`);
      return EXIT.failure;
    }
    const r = result.record;
    if (result.status === 'unconfirmed') {
      if (!parsed.values.json) ctx.io.err(`Unconfirmed: ${result.reason} (thrad-rules audit --entity ${r.entity_id}).`);
      return EXIT.failure;
    }
    if (result.status === 'failed') {
      if (!parsed.values.json) ctx.io.err(`Failed: could not ${r.action ?? 'act'} ${r.level} "${r.entity_name}": ${r.api_result?.message ?? 'error'} (recorded as ${r.decision_id})`);
      return EXIT.failure;
    }
    if (!parsed.values.json) ctx.io.out(`Undone: ${pastTense(r.action ?? 'changed')} ${r.level} "${r.entity_name}" at ${localStamp(r.evaluated_at, displayTimeZone(config, ctx, parsed.values.utc))} (was ${r.status_before}, now ${r.status_after}); recorded as ${r.decision_id}, undoing ${r.undoes ?? ''}.`);
    return EXIT.ok;
  });
}
