// The local runner's console lines: one readable line per decision (time, rule, entity, the
// values that decided, the action, the outcome), one per cycle, and a progress line on terminals.
import type { DecisionRecord, RepeatTally, RunSummary } from '../audit/records';
import { ACTIONS, isActionName } from '../actions/registry';
import { describeExplanation } from '../engine/describe';

const formatters = new Map<string, Intl.DateTimeFormat>();

function stampParts(iso: string, timeZone: string): Record<string, string> {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
    formatters.set(timeZone, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
}

/** `2026-11-19 22:00 EST` in the given zone. */
export function localStamp(iso: string, timeZone: string): string {
  const parts = stampParts(iso, timeZone);
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

/** `11-19 22:00` in the given zone (chart axes, where the zone is said once). */
export function shortStamp(iso: string, timeZone: string): string {
  const parts = stampParts(iso, timeZone);
  return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Whether the runtime knows this IANA zone (or alias such as `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** This machine's zone: the environment's TZ when it names a zone, else the system's. */
export function machineTimeZone(env: NodeJS.ProcessEnv = process.env): string {
  const tz = env.TZ?.trim().replace(/^:/, '');
  if (tz && isTimeZone(tz)) return tz;
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** An action's verb for console lines, from the registry. */
const verbOf = (action: string | null): string => (action !== null && isActionName(action) ? ACTIONS[action].words.verb : '-');

const OUTCOME: Record<string, string> = {
  acted: '✓ acted',
  would_act: '~ would act (dry run)',
  failed: '✗ failed',
  already_in_state: '= already in that state',
  skipped_cooldown: '· skipped: cooldown',
  skipped_cap: '· skipped: over the per-run cap',
  skipped_conflict: '· skipped: another rule won',
  skipped_manual_override: '· skipped: changed by someone else',
  data_unavailable: '! no data',
  insufficient_data: '? not enough data',
  awaiting_approval: '⧗ awaiting approval',
  approved: '✓ approved',
  rejected: '✗ rejected',
  expired: '· expired unapproved',
  skipped_not_approved: '· skipped: not approved in review',
  skipped_not_applicable: '· skipped: does not apply',
};

export function decisionLine(d: DecisionRecord, timeZone: string): string {
  const values = d.explanation ? describeExplanation(d.explanation, 'match') : '';
  const outcome = OUTCOME[d.outcome] ?? d.outcome;
  const detail = d.outcome === 'acted' || d.outcome === 'would_act' ? '' : ` (${d.outcome === 'failed' ? `${d.api_result?.error_code ?? 'error'}: ` : ''}${d.reason})`;
  const entity = d.entity_id === '*' ? 'every entity' : `${d.level.replace('_', ' ')} "${d.entity_name}"`;
  // The occurrence's time: what the schedule says ("22:00"), however long the cycle took.
  return `${localStamp(d.scheduled_time, timeZone)}  ${d.rule_id.padEnd(18)} ${verbOf(d.action).padEnd(8)} ${entity}${values ? `  ${values}` : ''}  ${outcome}${detail}`;
}

/** `would_act ×96 since 2026-11-24 22:00 EST, last 2026-11-25 21:45 EST` (an ended streak: `until …`). */
export function repeatLine(outcome: string, tally: RepeatTally, timeZone: string): string {
  return `${outcome} ×${tally.count} since ${localStamp(tally.first_seen, timeZone)}, ${tally.open ? 'last' : 'until'} ${localStamp(tally.last_seen, timeZone)}`;
}

export function cycleLine(summary: RunSummary, timeZone: string): string {
  const c = summary.counts;
  const parts = [
    `${summary.entities_read} entities`,
    c.acted ? `${c.acted} acted` : '',
    c.would_act ? `${c.would_act} would act` : '',
    c.awaiting_approval ? `${c.awaiting_approval} awaiting approval` : '',
    c.failed ? `${c.failed} failed` : '',
    c.no_match ? `${c.no_match} no match` : '',
    c.insufficient_data ? `${c.insufficient_data} not enough data` : '',
    c.data_unavailable ? `${c.data_unavailable} without data` : '',
    c.repeated ? `${c.repeated} repeated (counted, not written again)` : '',
    Object.entries(c)
      .filter(([k]) => k.startsWith('skipped_') || k === 'already_in_state')
      .map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`)
      .join(', '),
  ].filter((p) => p !== '');
  const remaining = summary.api_requests_remaining === null ? '' : ` (${summary.api_requests_remaining} left this hour)`;
  const status = summary.status === 'completed' ? '' : ` [${summary.status}]`;
  return `── ${localStamp(summary.scheduled_time, timeZone)}  cycle [${summary.rule_ids.join(', ')}]${status}: ${parts.join(', ')} · ${summary.api_requests} API requests${remaining} · ${summary.duration_ms} ms`;
}
