// The answer guard on its own: one question, pages that answer it and pages that answer another
// (a range, level, scope, supply, filter or field not asked for; a page over limit; cursors that
// disagree with has_more), each failing with the check and the mismatch it names.
import { describe, expect, it } from 'vitest';
import { InsightsAnswerGuard, type InsightsPage, type InsightsQuestion } from '../../functions/thrad/answer-guard';
import { AnswerMismatchError } from '../../functions/thrad/errors';
import type { InsightsRowWire } from '../../functions/thrad/schemas';
import { DAY, ids, T0 } from '../helpers/fixtures';

const yesterday = Math.floor(T0 / DAY) * DAY - DAY;
const today = yesterday + DAY;

const question = (overrides: Partial<InsightsQuestion> = {}): InsightsQuestion => ({
  operation: 'GET /ad_account/insights',
  scope: { level: 'ad_account', id: null },
  aggregationLevel: 'ad_group',
  granularity: 'none',
  ranges: [{ startSeconds: yesterday, endSeconds: today }],
  supply: 'combined',
  idFilters: [{ field: 'campaign.id', values: [ids.c1], wire: 'IN' }],
  metrics: ['impressions', 'spend'],
  metadata: [{ wireKey: 'ad_group_status', canonical: 'ad_group.status' }],
  limit: 2,
  params: { timeRanges: 'time_ranges[]', aggregationLevel: 'aggregation_level', supply: 'supply', filters: 'filters[]', fields: 'fields[]', limit: 'limit', after: 'after' },
  ...overrides,
});

const row = (group: string, overrides: Partial<InsightsRowWire> = {}): InsightsRowWire => ({
  id: `start=${yesterday}:end=${today}:entity_id=${group}`,
  start_time: yesterday,
  end_time: today,
  ad_group_id: group,
  ad_group_name: 'Runners',
  campaign_id: ids.c1,
  impressions: 997,
  spend: 15.5,
  metadata: { ad_group_status: 'active' },
  ...overrides,
});

const page = (data: InsightsRowWire[], more = false): InsightsPage => ({ data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: more });

function mismatchOf(check: () => void): AnswerMismatchError {
  try {
    check();
  } catch (error) {
    if (error instanceof AnswerMismatchError) return error;
    throw error;
  }
  throw new Error('expected an AnswerMismatchError');
}

describe('InsightsAnswerGuard', () => {
  it('accepts pages that answer the question, across cursors', () => {
    const guard = new InsightsAnswerGuard(question());
    expect(() => guard.checkPage(page([row(ids.g1), row(ids.g2)], true), undefined)).not.toThrow();
    expect(() => guard.checkPage(page([row(ids.g3)]), row(ids.g2).id)).not.toThrow();
  });

  it.each([
    ['range', 'time_ranges[]', question(), [row(ids.g1, { start_time: today - 30 * DAY, end_time: today + DAY })], `row start=${today - 30 * DAY} end=${today + DAY} (2026-02-08T00:00Z → 2026-03-11T00:00Z) but asked for start=${yesterday} end=${today} (2026-03-09T00:00Z → 2026-03-10T00:00Z)`],
    ['range', 'time_ranges[]', question({ granularity: 'daily' }), [row(ids.g1, { start_time: today, end_time: today + DAY })], 'but asked for buckets within start='],
    ['level', 'aggregation_level', question(), [row(ids.g1, { ad_id: ids.a1 })], `row carries ad_id=${ids.a1} (an ad row) but asked for aggregation_level=ad_group`],
    ['level', 'aggregation_level', question(), [row(ids.g1, { ad_group_id: undefined })], 'carries no ad_group_id but asked for aggregation_level=ad_group'],
    ['scope', null, question({ scope: { level: 'campaign', id: ids.c2 }, idFilters: [] }), [row(ids.g1)], `row for campaign_id=${ids.c1} but asked for the campaign ${ids.c2}`],
    ['supply', 'supply', question({ supply: 'thrad' }), [row(ids.g1, { supply: 'chatgpt' })], 'row supply=chatgpt but asked for supply=thrad'],
    ['supply', 'supply', question({ supply: 'split' }), [row(ids.g1)], 'row has no supply but asked for supply=split'],
    ['supply', 'supply', question(), [row(ids.g1, { supply: 'thrad' })], 'row supply=thrad but asked for both supplies combined'],
    ['filter', 'filters[]', question(), [row(ids.g1, { campaign_id: ids.c3 })], `row campaign_id=${ids.c3} is outside filters[] campaign.id IN [${ids.c1}]`],
    ['field', 'fields[]', question(), [row(ids.g1, { spend: undefined })], 'lacks spend, asked for in fields[]'],
    ['field', 'fields[]', question(), [row(ids.g1, { metadata: {} })], 'lacks ad_group_status, asked for as fields[]=ad_group.status'],
    ['page_size', 'limit', question(), [row(ids.g1), row(ids.g2), row(ids.g3)], 'a page of 3 rows but asked for limit=2'],
    // A series answers in buckets of the granularity asked for: a two-hour row is not an hourly bucket, an hour not a day.
    ['range', 'time_ranges[]', question({ granularity: 'hourly' }), [row(ids.g1, { id: 'h', start_time: yesterday, end_time: yesterday + 7_200 })], `row start=${yesterday} end=${yesterday + 7_200} (2026-03-09T00:00Z → 2026-03-09T02:00Z) is not a hourly bucket (expected start=${yesterday} end=${yesterday + 3_600}`],
    ['range', 'time_ranges[]', question({ granularity: 'daily' }), [row(ids.g1, { id: 'd', start_time: yesterday + 3_600, end_time: yesterday + 7_200 })], 'is not a daily bucket (expected start='],
  ] as const)('%s (param %s): %#', (check, param, q, rows, mismatch) => {
    const error = mismatchOf(() => new InsightsAnswerGuard(q).checkPage(page([...rows]), undefined));
    expect(error).toMatchObject({ name: 'AnswerMismatchError', code: 'answer_mismatch', check, param, retryable: false, httpStatus: 200 });
    expect(error.mismatch).toContain(mismatch);
    expect(error.message).toContain(`Thrad API GET ${q.operation.slice(4)} answered a different question: `);
  });

  it.each([
    ['has_more on an empty page', { data: [], first_id: null, last_id: null, has_more: true }, 'has_more=true on an empty page'],
    ['has_more without last_id', { ...page([row(ids.g1)], true), last_id: null }, 'has_more=true without a last_id'],
    ['last_id not the last row', { ...page([row(ids.g1), row(ids.g2)]), last_id: row(ids.g1).id }, `last_id=${row(ids.g1).id} but the page ends with row ${row(ids.g2).id}`],
    ['first_id not the first row', { ...page([row(ids.g1), row(ids.g2)]), first_id: row(ids.g2).id }, `first_id=${row(ids.g2).id} but the page starts with row ${row(ids.g1).id}`],
  ])('cursor: %s', (_name, body, mismatch) => {
    const error = mismatchOf(() => new InsightsAnswerGuard(question()).checkPage(body, undefined));
    expect(error).toMatchObject({ check: 'cursor', param: 'after' });
    expect(error.mismatch).toContain(mismatch);
  });

  it('fails a read whose next page repeats rows (the cursor was ignored) or repeats the cursor', () => {
    const first = page([row(ids.g1), row(ids.g2)], true);
    const guard = new InsightsAnswerGuard(question());
    guard.checkPage(first, undefined);
    expect(mismatchOf(() => guard.checkPage(first, row(ids.g2).id)).mismatch).toBe(`row ${row(ids.g1).id} came twice in one read (page 2): the cursor was not honoured`);
    const again = new InsightsAnswerGuard(question());
    expect(mismatchOf(() => again.checkPage(page([row(ids.g3)], true), row(ids.g3).id)).mismatch).toBe(`has_more=true but last_id=${row(ids.g3).id} is the cursor this page was asked with`);
  });

  it('accepts series buckets: whole UTC hours and days, cut to the range at its ends', () => {
    const ranges = [{ startSeconds: yesterday + 5 * 3_600, endSeconds: today + 5 * 3_600 }];
    const hourly = new InsightsAnswerGuard(question({ granularity: 'hourly', ranges, limit: 100 }));
    expect(() => hourly.checkPage(page([5, 6, 28].map((h) => row(ids.g1, { id: `h${h}`, start_time: yesterday + h * 3_600, end_time: yesterday + (h + 1) * 3_600 }))), undefined)).not.toThrow();
    const daily = new InsightsAnswerGuard(question({ granularity: 'daily', ranges, limit: 100 }));
    const days = [row(ids.g1, { id: 'd1', start_time: yesterday + 5 * 3_600, end_time: today }), row(ids.g1, { id: 'd2', start_time: today, end_time: today + 5 * 3_600 })];
    expect(() => daily.checkPage(page(days), undefined)).not.toThrow();
  });

  it('does not check ranges when none was asked (the API default window)', () => {
    expect(() => new InsightsAnswerGuard(question({ ranges: [] })).checkPage(page([row(ids.g1, { start_time: 0, end_time: DAY })]), undefined)).not.toThrow();
  });

  it('accepts an account-level row that names the account only in its id', () => {
    const q = question({ aggregationLevel: 'ad_account', idFilters: [], metadata: [] });
    const accountRow: InsightsRowWire = { id: `start=${yesterday}:end=${today}:entity_id=acct`, start_time: yesterday, end_time: today, impressions: 1, spend: 0, metadata: {} };
    expect(() => new InsightsAnswerGuard(q).checkPage(page([accountRow]), undefined)).not.toThrow();
    expect(mismatchOf(() => new InsightsAnswerGuard(q).checkPage(page([{ ...accountRow, campaign_id: ids.c1 }]), undefined)).check).toBe('level');
  });
});
