// `thrad-rules audit`: the decision records, newest first, as a table, JSON or CSV.
import type { DecisionRecord } from '../audit/records';
import { OUTCOMES } from '../audit/records';
import { describeExplanation } from '../engine/describe';
import { localStamp } from '../local/format';
import { checkTimeFlag, choiceFlag, numberFlag, parseFlags, parseTime, type NumberFlag } from './args';
import { UsageError } from './errors';
import { EXIT } from './output';
import { displayTimeZone, withEnvironment, type CommandContext } from './shared';

/** The most records one query returns (the store reads them all into memory). */
const AUDIT_MAX_LIMIT = 10_000;

export const AUDIT_HELP = `Usage: thrad-rules audit [--entity ID] [--rule ID] [--run ID] [--outcome O]
                         [--since T] [--until T] [--limit N] [--json | --csv] [--utc] [--rules DIR]

The decision records of the audit trail, newest first: what each rule did to which entity,
when, why (the values that decided), and what the API answered.

  --entity ID    one entity's history       --rule ID     one rule's record
  --run ID       one run                    --outcome O   ${OUTCOMES.join(', ')}, pending
  --since T / --until T   2026-11-24, 2026-11-24T10:00:00Z, or back from now: 90m, 6h, 7d
  --limit N      at most N records, 1 to ${AUDIT_MAX_LIMIT} (default 50); for more, page back with --until
  --json         a JSON array of decision objects (every field)   --csv   CSV for spreadsheets
  --utc          times in UTC (default: the rules' time zone when they share one, else this
                 machine's; read from --rules DIR or THRAD_RULES_DIR). JSON and CSV are always UTC.

Reads the same store the autopilot writes (the running autopilot's, or the one under
.thrad-rules/, or AUDIT_TABLE_NAME). Exit codes: 0 ok (also with no records), 1 store or API
unreachable, 2 wrong usage.

Examples:
  npx thrad-rules audit --since 1d
  npx thrad-rules audit --entity c0ffee00-0000-4000-8000-000000000001 --json
  npx thrad-rules audit --outcome failed --csv > failures.csv`;

const LIMIT_FLAG: NumberFlag = {
  flag: '--limit',
  min: 1,
  max: AUDIT_MAX_LIMIT,
  integer: true,
  meaning: 'how many records to show, newest first',
  example: '--limit 500',
  overMax: `${AUDIT_MAX_LIMIT} is the most one call shows: for more, page back in time with --until set to the evaluated_at of the oldest record shown (--json has it), or narrow the window with --since.`,
};

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

/** The records as a table for people, times in `timeZone` with its abbreviation. */
export function toTable(records: readonly DecisionRecord[], timeZone = 'UTC'): string[] {
  const rows = records.map((d) => [
    localStamp(d.evaluated_at, timeZone),
    d.rule_id,
    d.entity_id === '*' ? '*' : `${d.entity_name}`.slice(0, 36),
    d.action ?? '-',
    d.outcome + (d.mode === 'dry_run' ? ' (dry)' : ''),
    d.explanation ? describeExplanation(d.explanation, d.outcome === 'insufficient_data' ? 'insufficient_data' : 'match').slice(0, 90) : d.reason.slice(0, 90),
    d.decision_id,
  ]);
  const header = ['time', 'rule', 'entity', 'action', 'outcome', 'why', 'decision'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i]).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export async function auditCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(
    args,
    { entity: { type: 'string' }, rule: { type: 'string' }, run: { type: 'string' }, outcome: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' }, utc: { type: 'boolean' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    ctx.io,
    AUDIT_HELP,
  );
  if (values.help) {
    ctx.io.out(AUDIT_HELP);
    return EXIT.ok;
  }
  if (values.json && values.csv) throw new UsageError('Choose one of --json and --csv.', '--json gives decision objects with every field, --csv a table for spreadsheets; e.g. npx thrad-rules audit --csv > decisions.csv');
  const outcome = choiceFlag(values.outcome, '--outcome', [...OUTCOMES, 'pending'], '--outcome failed');
  const limit = numberFlag(values.limit, LIMIT_FLAG) ?? 50;
  checkTimeFlag('--since', values.since, '--since 7d');
  checkTimeFlag('--until', values.until, '--until 2026-11-24T10:00:00Z');
  return withEnvironment(ctx, { rules: values.rules }, false, async (environment, config) => {
    const now = environment.clock.nowMs();
    const since = values.since === undefined ? undefined : (parseTime(values.since, now) ?? undefined);
    const until = values.until === undefined ? undefined : (parseTime(values.until, now) ?? undefined);
    const records = await environment.store.queryDecisions(await environment.accountId(), {
      entityId: values.entity,
      ruleId: values.rule,
      runId: values.run,
      outcome,
      sinceMs: since,
      untilMs: until,
      limit,
    });
    if (values.json) ctx.io.out(JSON.stringify(records, null, 2));
    else if (values.csv) ctx.io.out(toCsv(records));
    else if (records.length === 0) ctx.io.out('No decisions match. (The autopilot records what matched, acted, was skipped or failed; run it with: npm start)');
    else for (const line of toTable(records, displayTimeZone(config, ctx, values.utc))) ctx.io.out(line);
    return EXIT.ok;
  });
}
