// `thrad-rules audit`: the decision records, newest first, as a table, JSON or CSV.
import type { DecisionRecord, RepeatTally } from '../audit/records';
import { OUTCOMES } from '../audit/records';
import { openTally } from '../audit/repeats';
import type { AuditStore } from '../audit/store';
import { describeExplanation } from '../engine/describe';
import { localStamp, repeatLine } from '../local/format';
import { checkTimeFlag, choiceFlag, numberFlag, parseFlags, parseTime, type NumberFlag } from './args';
import { UsageError } from './errors';
import { EXIT } from './output';
import { displayTimeZone, withEnvironment, type CommandContext } from './shared';

/** The most records one query returns (the store reads them all into memory). */
const AUDIT_MAX_LIMIT = 10_000;

export const AUDIT_HELP = `Usage: thrad-rules audit [--entity ID] [--rule ID] [--run ID] [--outcome O]
                         [--since T] [--until T] [--limit N] [--json | --csv] [--utc] [--rules DIR]

The decision records of the audit trail, newest first: what each rule did to which entity,
when, why (the values that decided), and what the API answered. An outcome that is no action
(would_act, already_in_state, skipped_*) and recurs unchanged is written once and counted after:
it is shown as "would_act ×96 since …", and in --json as "repeats" on its first record.

  --entity ID    one entity's history       --rule ID     one rule's record
  --run ID       one run                    --outcome O   ${OUTCOMES.join(', ')}, pending
  --since T / --until T   2026-11-24 (its midnight in the zone times are shown in),
                          2026-11-24T10:00:00Z, or back from now: 90m, 6h, 7d (up to 3650d)
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

/** A streak of one unchanged outcome: its first record and its tally. */
export interface Streak {
  first: DecisionRecord;
  tally: RepeatTally;
}

/**
 * The streaks a query covers: ended ones on the records shown (their tally is stored there), and
 * open ones from the rules' repeat ledgers that recur within the window (their first record may be
 * older than it; it is read, at most `limit` of them). Records shown that begin an open streak get
 * its tally (`repeats`).
 */
export async function streaksFor(store: AuditStore, accountId: string, records: DecisionRecord[], query: { entityId?: string; ruleId?: string; outcome?: string; sinceMs?: number; untilMs?: number; limit: number }): Promise<Streak[]> {
  const streaks: Streak[] = records.flatMap((first) => (first.repeats && !first.repeats.open ? [{ first, tally: first.repeats }] : []));
  const shown = new Map(records.map((r) => [r.decision_id, r]));
  const ledgers = await store.repeatLedgers(accountId, query.ruleId === undefined ? undefined : [query.ruleId]);
  for (const ledger of ledgers.values()) {
    for (const [entityId, entry] of ledger.entries) {
      if (streaks.length >= query.limit) break;
      if ((query.entityId !== undefined && entityId !== query.entityId) || (query.outcome !== undefined && entry.o !== query.outcome)) continue;
      const tally = openTally(entry, ledger);
      if (tally.count < 2 || (query.sinceMs !== undefined && Date.parse(tally.last_seen) < query.sinceMs) || (query.untilMs !== undefined && entry.f > query.untilMs)) continue;
      const first = shown.get(entry.d) ?? (await store.getDecision(accountId, entry.d));
      if (!first) continue;
      first.repeats = tally;
      streaks.push({ first, tally });
    }
  }
  return streaks.sort((a, b) => Date.parse(b.tally.last_seen) - Date.parse(a.tally.last_seen));
}

/** The streaks as lines for people: rule, entity, and "would_act ×96 since …". */
export function streakLines(streaks: readonly Streak[], timeZone: string): string[] {
  if (streaks.length === 0) return [];
  return [
    '',
    'Repeated unchanged (written once, then counted; the decision named is the first):',
    ...streaks.map(({ first, tally }) => `  ${first.rule_id}  ${first.entity_id === '*' ? '*' : first.entity_name.slice(0, 36)}  ${repeatLine(first.outcome + (first.mode === 'dry_run' ? ' (dry)' : ''), tally, timeZone)}  ${first.decision_id}`),
  ];
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
    const timeZone = displayTimeZone(config, ctx, values.utc);
    const since = values.since === undefined ? undefined : (parseTime(values.since, now, timeZone) ?? undefined);
    const until = values.until === undefined ? undefined : (parseTime(values.until, now, timeZone) ?? undefined);
    const records = await environment.store.queryDecisions(await environment.accountId(), {
      entityId: values.entity,
      ruleId: values.rule,
      runId: values.run,
      outcome,
      sinceMs: since,
      untilMs: until,
      limit,
    });
    const accountId = await environment.accountId();
    // One run's repeats are in its summary; otherwise the streaks the query covers.
    const streaks = values.run === undefined ? await streaksFor(environment.store, accountId, records, { entityId: values.entity, ruleId: values.rule, outcome, sinceMs: since, untilMs: until, limit }) : [];
    const runRepeats = values.run === undefined ? [] : ((await environment.store.getRunSummary(accountId, values.run))?.repeats ?? []);
    if (values.json) ctx.io.out(JSON.stringify(records, null, 2));
    else if (values.csv) ctx.io.out(toCsv(records));
    else if (records.length === 0 && streaks.length === 0 && runRepeats.length === 0) ctx.io.out('No decisions match. (The autopilot records what matched, acted, was skipped or failed; run it with: npm start)');
    else {
      if (records.length > 0) for (const line of toTable(records, timeZone)) ctx.io.out(line);
      for (const line of streakLines(streaks, timeZone)) ctx.io.out(line);
      if (runRepeats.length > 0) {
        ctx.io.out('');
        ctx.io.out('Repeated unchanged in this run (counted, not written again):');
        for (const r of runRepeats) ctx.io.out(`  ${r.rule_id}  ${r.outcome} ×${r.count} (entities), recurring since ${localStamp(r.first_seen, timeZone)}`);
      }
    }
    return EXIT.ok;
  });
}
