// The answer guard: every insights page is checked against the question it answers before a row
// reaches the caller. An API that ignores or renames a parameter does not fail; it answers a
// different question (its default 30-day window instead of "today", every ad instead of one
// campaign's), and summing that as if it were the answer pauses campaigns for money they never
// spent. So a row for another range, level, scope or supply, a row without a field asked for, a
// page longer than `limit`, or `has_more` that disagrees with the cursors fails the whole read
// with `AnswerMismatchError`, naming what differed. Pure: no I/O, one instance per read.
import { AnswerMismatchError, type AnswerMismatchCheck } from './errors';
import type { InsightsRowWire } from './schemas';
import {
  ID_FILTER_ROW_FIELD,
  LEVEL_DEPTH,
  LEVEL_ID_FIELD,
  AGGREGATION_LEVELS,
  SUPPLIES,
  type AggregationLevel,
  type InsightsIdFilterField,
  type InsightsMetric,
  type SupplyMode,
  type TimeGranularity,
} from './wire';

export interface QuestionRange {
  startSeconds: number;
  endSeconds: number;
}

/** What one insights read asked, in the terms the guard checks. */
export interface InsightsQuestion {
  /** `GET /path`, for messages. */
  operation: string;
  /** The endpoint's scope: a row must belong to that entity. */
  scope: { level: AggregationLevel; id: string | null };
  aggregationLevel: AggregationLevel;
  /** What was sent; the API's default (`daily`) when not sent. */
  granularity: TimeGranularity;
  /** The ranges asked for; empty = the API's default window (then ranges are not checked). */
  ranges: readonly QuestionRange[];
  supply: SupplyMode;
  idFilters: readonly { field: InsightsIdFilterField; values: readonly string[]; wire: string }[];
  /** Metrics asked for explicitly (each must be a key of every row; null values are fine). */
  metrics: readonly InsightsMetric[];
  /** Metadata asked for: the key each row must carry and the name it was asked by. */
  metadata: readonly { wireKey: string; canonical: string }[];
  /** The `limit` sent. */
  limit: number;
  /** The wire names of the parameters, for the `param` of the error. */
  params: { timeRanges: string; aggregationLevel: string; supply: string; filters: string; fields: string; limit: string; after: string };
}

export interface InsightsPage {
  data: readonly InsightsRowWire[];
  first_id?: string | null;
  last_id?: string | null;
  has_more: boolean;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(':00.000Z', 'Z');
const describeRange = (start: number, end: number): string => `start=${start} end=${end} (${iso(start)} → ${iso(end)})`;

const BUCKET_SECONDS = { hourly: 3_600, daily: 86_400 } as const;

/**
 * The bucket of `granularity` that holds `atSeconds`: whole UTC hours, days or calendar months
 * (the API's account time zone is always UTC), cut to `range` at its ends.
 */
export function insightsBucket(granularity: Exclude<TimeGranularity, 'none'>, atSeconds: number, range: QuestionRange): QuestionRange {
  let startSeconds: number;
  let endSeconds: number;
  if (granularity === 'monthly') {
    const d = new Date(atSeconds * 1000);
    startSeconds = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
    endSeconds = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
  } else {
    const size = BUCKET_SECONDS[granularity];
    startSeconds = Math.floor(atSeconds / size) * size;
    endSeconds = startSeconds + size;
  }
  return { startSeconds: Math.max(startSeconds, range.startSeconds), endSeconds: Math.min(endSeconds, range.endSeconds) };
}

export class InsightsAnswerGuard {
  private readonly seenRowIds = new Set<string>();
  private pages = 0;

  constructor(private readonly question: InsightsQuestion) {}

  /** Check one page (the `after` cursor it was asked with); throws on the first mismatch. */
  checkPage(page: InsightsPage, after: string | undefined): void {
    const q = this.question;
    this.pages += 1;
    if (page.data.length > q.limit) {
      this.fail('page_size', q.params.limit, `a page of ${page.data.length} rows but asked for ${q.params.limit}=${q.limit}`);
    }
    for (const row of page.data) this.checkRow(row);
    this.checkCursors(page, after);
  }

  private checkRow(row: InsightsRowWire): void {
    const q = this.question;
    if (this.seenRowIds.has(row.id)) {
      this.fail('cursor', q.params.after, `row ${row.id} came twice in one read (page ${this.pages}): the cursor was not honoured`);
    }
    this.seenRowIds.add(row.id);
    this.checkRange(row);
    this.checkLevel(row);
    this.checkSupply(row);
    for (const filter of q.idFilters) {
      const value = row[ID_FILTER_ROW_FIELD[filter.field]];
      if (value !== undefined && !filter.values.includes(value)) {
        this.fail('filter', q.params.filters, `row ${ID_FILTER_ROW_FIELD[filter.field]}=${value} is outside ${q.params.filters} ${filter.field} ${filter.wire} [${filter.values.join(', ')}]`);
      }
    }
    for (const metric of q.metrics) {
      if (row[metric] === undefined) this.fail('field', q.params.fields, `row ${row.id} lacks ${metric}, asked for in ${q.params.fields}`);
    }
    for (const meta of q.metadata) {
      if (!(meta.wireKey in row.metadata)) {
        this.fail('field', q.params.fields, `row ${row.id} lacks ${meta.wireKey}, asked for as ${q.params.fields}=${meta.canonical}`);
      }
    }
  }

  private checkRange(row: InsightsRowWire): void {
    const q = this.question;
    if (q.ranges.length === 0) return;
    if (row.end_time <= row.start_time) this.fail('range', q.params.timeRanges, `row ${describeRange(row.start_time, row.end_time)} is empty`);
    const granularity = q.granularity;
    const exact = granularity === 'none';
    const within = q.ranges.find((r) => (exact ? row.start_time === r.startSeconds && row.end_time === r.endSeconds : row.start_time >= r.startSeconds && row.end_time <= r.endSeconds));
    if (within === undefined) {
      const asked = q.ranges.map((r) => describeRange(r.startSeconds, r.endSeconds)).join(' or ');
      this.fail('range', q.params.timeRanges, `row ${describeRange(row.start_time, row.end_time)} but asked for ${exact ? '' : 'buckets within '}${asked}`);
    }
    if (granularity === 'none') return;
    // A series row is one bucket of the granularity asked for (UTC hours, days or months, cut to
    // the range at its ends): a day where an hour was asked for is another question's answer.
    const bucket = insightsBucket(granularity, row.start_time, within);
    if (row.start_time !== bucket.startSeconds || row.end_time !== bucket.endSeconds) {
      this.fail('range', q.params.timeRanges, `row ${describeRange(row.start_time, row.end_time)} is not a ${q.granularity} bucket (expected ${describeRange(bucket.startSeconds, bucket.endSeconds)})`);
    }
  }

  private checkLevel(row: InsightsRowWire): void {
    const q = this.question;
    const level = q.aggregationLevel;
    const own = LEVEL_ID_FIELD[level];
    // The account level may name its entity only in the row id (`…:entity_id=<account>`).
    if (row[own] === undefined && !(level === 'ad_account' && /entity_id=/.test(row.id))) {
      this.fail('level', q.params.aggregationLevel, `row ${row.id} carries no ${own} but asked for ${q.params.aggregationLevel}=${level}`);
    }
    for (const deeper of AGGREGATION_LEVELS) {
      if (LEVEL_DEPTH[deeper] <= LEVEL_DEPTH[level]) continue;
      const field = LEVEL_ID_FIELD[deeper];
      if (row[field] !== undefined) {
        this.fail('level', q.params.aggregationLevel, `row carries ${field}=${row[field]} (${/^[aeiou]/.test(deeper) ? 'an' : 'a'} ${deeper} row) but asked for ${q.params.aggregationLevel}=${level}`);
      }
    }
    const scope = q.scope;
    if (scope.id !== null && scope.level !== 'ad_account') {
      const field = LEVEL_ID_FIELD[scope.level];
      const value = row[field];
      if (value !== undefined && value !== scope.id) {
        this.fail('scope', null, `row for ${field}=${value} but asked for the ${scope.level} ${scope.id} (${q.operation})`);
      }
    }
  }

  private checkSupply(row: InsightsRowWire): void {
    const q = this.question;
    const got = row.supply;
    const ok =
      q.supply === 'combined' ? got === undefined || got === 'combined'
        : q.supply === 'split' ? got !== undefined && (SUPPLIES as readonly string[]).includes(got)
          : got === q.supply;
    if (!ok) {
      const askedFor = q.supply === 'combined' ? 'both supplies combined (no supply parameter)' : `${q.params.supply}=${q.supply}`;
      this.fail('supply', q.params.supply, `row ${got === undefined ? 'has no supply' : `supply=${got}`} but asked for ${askedFor}`);
    }
  }

  private checkCursors(page: InsightsPage, after: string | undefined): void {
    const q = this.question;
    const first = page.data[0]?.id;
    const last = page.data[page.data.length - 1]?.id;
    if (first !== undefined && typeof page.first_id === 'string' && page.first_id !== first) {
      this.fail('cursor', q.params.after, `first_id=${page.first_id} but the page starts with row ${first}`);
    }
    if (last !== undefined && typeof page.last_id === 'string' && page.last_id !== last) {
      this.fail('cursor', q.params.after, `last_id=${page.last_id} but the page ends with row ${last}`);
    }
    if (!page.has_more) return;
    if (last === undefined) this.fail('cursor', q.params.after, 'has_more=true on an empty page');
    if (typeof page.last_id !== 'string') this.fail('cursor', q.params.after, 'has_more=true without a last_id to continue from');
    if (page.last_id === after) this.fail('cursor', q.params.after, `has_more=true but last_id=${page.last_id} is the cursor this page was asked with`);
  }

  private fail(check: AnswerMismatchCheck, param: string | null, mismatch: string): never {
    throw new AnswerMismatchError({ operation: this.question.operation, check, mismatch, param });
  }
}
