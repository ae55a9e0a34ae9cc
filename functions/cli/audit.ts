// `thrad-rules audit`: the decision records, newest first, as a table, JSON or CSV.
import * as z from 'zod';
import type { DecisionRecord } from '../audit/records';
import { OUTCOMES } from '../audit/records';
import { describeExplanation } from '../engine/describe';
import { parseFlags, parseTime } from './args';
import { EXIT } from './output';
import { withEnvironment, type CommandContext } from './shared';

export const AUDIT_HELP = `Usage: thrad-rules audit [--entity ID] [--rule ID] [--run ID] [--outcome O]
                         [--since T] [--until T] [--limit N] [--json | --csv]

The decision records of the audit trail, newest first: what each rule did to which entity,
when, why (the values that decided), and what the API answered.

  --entity ID    one entity's history       --rule ID     one rule's record
  --run ID       one run                    --outcome O   ${OUTCOMES.join(', ')}, pending
  --since T / --until T   2026-11-24, 2026-11-24T10:00:00Z, or back from now: 90m, 6h, 7d
  --limit N      at most N records (default 50)
  --json         a JSON array of decision objects (every field)   --csv   CSV for spreadsheets

Reads the same store the autopilot writes (the running autopilot's, or the one under
.thrad-rules/, or AUDIT_TABLE_NAME). Exit codes: 0 ok (also with no records), 1 store or API
unreachable, 2 wrong usage.

Examples:
  npx thrad-rules audit --since 1d
  npx thrad-rules audit --entity c0ffee00-0000-4000-8000-000000000001 --json
  npx thrad-rules audit --outcome failed --csv > failures.csv`;

const flagsSchema = z.object({
  outcome: z.enum([...OUTCOMES, 'pending']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(50),
});

const CSV_COLUMNS = ['evaluated_at', 'decision_id', 'run_id', 'rule_id', 'level', 'entity_id', 'entity_name', 'action', 'outcome', 'mode', 'status_before', 'status_after', 'http_status', 'error_code', 'observed', 'reason'] as const;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(records: readonly DecisionRecord[]): string {
  const rows = records.map((d) =>
    CSV_COLUMNS.map((c) => csvCell(c === 'http_status' ? d.api_result?.http_status : c === 'error_code' ? d.api_result?.error_code : d[c])).join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\n');
}

export function toTable(records: readonly DecisionRecord[]): string[] {
  const rows = records.map((d) => [
    d.evaluated_at.replace('T', ' ').slice(0, 16),
    d.rule_id,
    d.entity_id === '*' ? '*' : `${d.entity_name}`.slice(0, 36),
    d.action ?? '-',
    d.outcome + (d.mode === 'dry_run' ? ' (dry)' : ''),
    d.explanation ? describeExplanation(d.explanation, d.outcome === 'insufficient_data' ? 'insufficient_data' : 'match').slice(0, 90) : d.reason.slice(0, 90),
    d.decision_id,
  ]);
  const header = ['time (UTC)', 'rule', 'entity', 'action', 'outcome', 'why', 'decision'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i]).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export async function auditCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = parseFlags(
    args,
    { entity: { type: 'string' }, rule: { type: 'string' }, run: { type: 'string' }, outcome: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    ctx.io,
    AUDIT_HELP,
  );
  if (!parsed) return EXIT.usage;
  const { values } = parsed;
  if (values.help) {
    ctx.io.out(AUDIT_HELP);
    return EXIT.ok;
  }
  if (values.json && values.csv) {
    ctx.io.err('Choose one of --json and --csv.');
    return EXIT.usage;
  }
  const checked = flagsSchema.safeParse({ outcome: values.outcome, limit: values.limit });
  if (!checked.success) {
    ctx.io.err(checked.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('\n'));
    return EXIT.usage;
  }
  return withEnvironment(ctx, {}, false, async (environment) => {
    const now = environment.clock.nowMs();
    const since = values.since === undefined ? undefined : parseTime(values.since, now);
    const until = values.until === undefined ? undefined : parseTime(values.until, now);
    if (since === null || until === null) {
      ctx.io.err(`--since/--until: expected a date (2026-11-24), a time (2026-11-24T10:00:00Z) or a duration back from now (90m, 6h, 7d); found "${String(since === null ? values.since : values.until)}".`);
      return EXIT.usage;
    }
    const records = await environment.store.queryDecisions(await environment.accountId(), {
      entityId: values.entity,
      ruleId: values.rule,
      runId: values.run,
      outcome: checked.data.outcome,
      sinceMs: since,
      untilMs: until,
      limit: checked.data.limit,
    });
    if (values.json) ctx.io.out(JSON.stringify(records, null, 2));
    else if (values.csv) ctx.io.out(toCsv(records));
    else if (records.length === 0) ctx.io.out('No decisions match. (The autopilot records what matched, acted, was skipped or failed; run it with: npm start)');
    else for (const line of toTable(records)) ctx.io.out(line);
    return EXIT.ok;
  });
}
