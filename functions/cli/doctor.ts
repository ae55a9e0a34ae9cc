// `thrad-rules doctor`: does this API answer the way the selected wire profile assumes? Read-only
// probes with the configured key and base URL (or the bundled sandbox without a key): the key,
// list paging, insights at each level for a closed past hour and a past day (does the answer
// echo the range asked for?), filters, supply, the metadata capabilities and the request budget.
// Nothing here changes a status or creates anything; every probe is one request (no retries), at
// most DOCTOR_MAX_REQUESTS in all, enforced by a budget of that size. Each failed check names its
// fix: which wire profile or setting to use. Never prints the key (only its fingerprint).
import { parseArgs } from 'node:util';
import { loadConfig, type LocalConfig } from '../local/config';
import { openApiEnvironment, type ApiEnvironment } from '../local/environment';
import { ConfigError, EnvironmentError } from '../local/errors';
import { RequestBudget } from '../thrad/budget';
import { probeCapabilities } from '../thrad/capabilities';
import type { InsightsQuery, ThradClient } from '../thrad/client';
import { AnswerMismatchError, ApiKeyUnavailableError, AuthenticationError, InvalidRequestError, NetworkError, RateLimitError, RequestBudgetExceededError, ThradApiError } from '../thrad/errors';
import { campaignSchema } from '../thrad/schemas';
import { WIRE, WIRE_PROFILE_ENV, WIRE_PROFILES, type Level, type WireProfile } from '../thrad/wire';
import { EXIT, type Output } from './output';

export const DOCTOR_MAX_REQUESTS = 15;

export const DOCTOR_HELP = `Usage: thrad-rules doctor [--json]

Checks that the Thrad API answers the way the autopilot assumes, with the configured key and
base URL (THRAD_ADS_API_KEY / THRAD_API_KEY_SECRET_ID, THRAD_API_BASE_URL; no key: the bundled
sandbox) and wire profile (${WIRE_PROFILE_ENV}, default reference). Read-only: it never changes
a status and never creates anything, and uses at most ${DOCTOR_MAX_REQUESTS} requests.

Checks: the key (GET /ad_account); campaign list paging (limit=1, then after); insights at the
campaign, ad group and ad levels for a closed past hour and the past day, each answer echoing
the range asked for; filters; supply; metadata fields and zero-impression items; the request
budget. One line per check, PASS or FAIL, with the fix.

Options:
  --json   print {"ok": boolean, "checks": [{"name", "ok", "detail"}]}

Exit codes: 0 every check passed; 1 a check failed; 2 wrong flags.

Examples:
  THRAD_ADS_API_KEY=ak_... npx thrad-rules doctor
  THRAD_API_BASE_URL=http://127.0.0.1:4010/v1 THRAD_ADS_API_KEY=ak_sandbox_demo_4f8e2c1b9d THRAD_WIRE_PROFILE=legacy npx thrad-rules doctor --json`;

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorContext {
  io: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const HOUR_SECONDS = 3_600;
const DAY_SECONDS = 86_400;
const INSIGHTS_LEVELS: readonly Level[] = ['campaign', 'ad_group', 'ad'];

interface Range {
  name: 'past_hour' | 'past_day';
  startSeconds: number;
  endSeconds: number;
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(':00.000Z', 'Z');
const describeRange = (r: Range): string => `start=${r.startSeconds} end=${r.endSeconds} (${iso(r.startSeconds)} → ${iso(r.endSeconds)})`;

/** Other profiles that differ from `current` in the choice `pick` reads: the ones worth trying. */
function profilesDiffering(current: WireProfile, pick: (p: WireProfile) => unknown): string[] {
  const mine = JSON.stringify(pick(current));
  return Object.values(WIRE_PROFILES).filter((p) => p.name !== current.name && JSON.stringify(pick(p)) !== mine).map((p) => p.name);
}

function tryProfiles(names: readonly string[], why: string): string {
  if (names.length === 0) return `no wire profile differs here (${why}); the API does not match any profile: report it`;
  return `set ${WIRE_PROFILE_ENV}=${names.join(' or ')} (${why})`;
}

/** What a failed probe means and what to change, from the typed error. */
export function explainFailure(error: unknown, profile: WireProfile, baseUrl: string): string {
  if (error instanceof AnswerMismatchError) {
    const fixes: Record<AnswerMismatchError['check'], string> = {
      range: `the API does not honour ${profile.insights.params.timeRanges} as the ${profile.name} profile sends it (JSON unix_range), so every metric read would be for another window; metric rules stay data_unavailable until it does: no profile fixes this yet, report it`,
      level: `the API ignored ${profile.insights.params.aggregationLevel}; report it`,
      scope: 'the API answered for another entity than the endpoint names; report it',
      supply: tryProfiles(profilesDiffering(profile, (p) => p.insights.supply), `the API ignores ${profile.insights.supply.param}; the supply parameter's name is a guess`),
      filter: tryProfiles(profilesDiffering(profile, (p) => p.insights.filter), `the API ignores ${profile.insights.params.filters}`),
      field: tryProfiles(profilesDiffering(profile, (p) => [p.insights.fieldNames, p.insights.metadata]), 'the API left out fields it was asked for'),
      page_size: tryProfiles(profilesDiffering(profile, (p) => p.insights.page.limitMax), 'the API ignores limit'),
      cursor: 'the API pages inconsistently (has_more, first_id/last_id, after); report it',
    };
    return `${error.mismatch}; fix: ${fixes[error.check]}`;
  }
  if (error instanceof InvalidRequestError) {
    const param = error.param ?? '';
    let fix: string;
    if (error.code === 'invalid_filter_operator' || param.startsWith('filters')) {
      fix = tryProfiles(profilesDiffering(profile, (p) => p.insights.filter), `the API refuses this profile's filter spelling`);
    } else if (param === profile.insights.params.limit) {
      fix = tryProfiles(profilesDiffering(profile, (p) => p.insights.page.limitMax), `the API refuses limit=${profile.insights.page.limitMax}`);
    } else if (param.startsWith('includes')) {
      fix = tryProfiles(profilesDiffering(profile, (p) => p.insights.zeroImpressionItems), 'the API has no includes[]');
    } else if (error.code === 'unknown_field' || param.startsWith('fields')) {
      fix = tryProfiles(profilesDiffering(profile, (p) => [p.insights.fieldNames, p.insights.metadata]), 'the API refuses these field names');
    } else if (param === profile.insights.supply.param) {
      fix = tryProfiles(profilesDiffering(profile, (p) => p.insights.supply), 'the API refuses the supply parameter');
    } else if (param.startsWith('time_ranges')) {
      fix = tryProfiles(profilesDiffering(profile, (p) => p.insights.timeRange), 'the API refuses the time range');
    } else {
      fix = tryProfiles(Object.values(WIRE_PROFILES).filter((p) => p.name !== profile.name).map((p) => p.name), 'the API refuses this profile\'s shape');
    }
    return `${error.message.replace(/\.$/, '')}; fix: ${fix}`;
  }
  if (error instanceof AuthenticationError) return `${error.code}: the key was refused; fix: put the current key in THRAD_ADS_API_KEY or the secret (keys start with ak_, shown once in Settings → API keys)`;
  if (error instanceof RateLimitError) return `429 rate_limit_exceeded: this key's hourly requests are used${error.retryAfterSeconds !== null ? ` (retry after ${error.retryAfterSeconds} s)` : ''}; fix: wait, or stop other processes using the key`;
  if (error instanceof NetworkError) return `${error.kind}: ${error.message}; fix: is ${baseUrl} reachable? (THRAD_API_BASE_URL)`;
  if (error instanceof RequestBudgetExceededError) return `not probed: doctor's ${DOCTOR_MAX_REQUESTS}-request allowance is used`;
  if (error instanceof ThradApiError) return `${error.httpStatus ?? 'no response'} ${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Run every check against the API behind `client` (a probe client: no retries, capped budget). */
export async function runDoctorChecks(client: ThradClient, options: { nowSeconds: number; baseUrl: string }): Promise<{ report: DoctorReport; requests: number }> {
  const profile = client.wireProfile;
  const checks: DoctorCheck[] = [];
  const pass = (name: string, detail: string): void => void checks.push({ name, ok: true, detail });
  const fail = (name: string, detail: string): void => void checks.push({ name, ok: false, detail });
  const failed = (name: string, error: unknown): void => fail(name, explainFailure(error, profile, options.baseUrl));
  let saw429 = false;
  const note = (error: unknown): unknown => {
    if (error instanceof RateLimitError) saw429 = true;
    return error;
  };

  const hourEnd = Math.floor(options.nowSeconds / HOUR_SECONDS) * HOUR_SECONDS;
  const dayEnd = Math.floor(options.nowSeconds / DAY_SECONDS) * DAY_SECONDS;
  const ranges: Range[] = [
    { name: 'past_hour', startSeconds: hourEnd - HOUR_SECONDS, endSeconds: hourEnd },
    { name: 'past_day', startSeconds: dayEnd - DAY_SECONDS, endSeconds: dayEnd },
  ];
  const later = ['campaign_list', ...INSIGHTS_LEVELS.flatMap((l) => ranges.map((r) => `insights_${l}_${r.name}`)), 'filters', 'supply', 'metadata', 'request_budget'];

  // The key: without it nothing else can be asked.
  try {
    const account = await client.getAdAccount();
    pass('key', `accepted (${await client.currentKeyFingerprint()}): account ${account.id} "${account.name}", timezone ${account.timezone}, ${account.currency_code}`);
  } catch (error) {
    failed('key', note(error));
    for (const name of later) fail(name, 'not probed: the key check failed');
    return { report: { ok: false, checks }, requests: client.budget.totalTaken };
  }

  // Campaign list: limit=1, then after=<that id>.
  let firstCampaignId: string | undefined;
  try {
    const pages = client.listPages('/campaigns', [], campaignSchema);
    const first = await pages.next();
    const page1 = first.done ? [] : first.value;
    firstCampaignId = page1[0]?.id;
    if (page1.length > 1) {
      fail('campaign_list', `limit=1 answered ${page1.length} campaigns: the list ignores limit; report it`);
    } else if (page1.length === 0) {
      pass('campaign_list', 'limit=1 answered no campaigns (the account has none); paging not exercised');
    } else {
      const second = await pages.next();
      if (second.done) {
        pass('campaign_list', `limit=1 answered campaign ${firstCampaignId ?? ''} and has_more=false (one campaign): after not needed`);
      } else {
        const page2 = second.value;
        if (page2.length > 1) fail('campaign_list', `after=${firstCampaignId ?? ''} with limit=1 answered ${page2.length} campaigns: the list ignores limit; report it`);
        else if (page2[0]?.id === firstCampaignId) fail('campaign_list', `after=${firstCampaignId ?? ''} answered the same campaign again: the list ignores after; report it`);
        else pass('campaign_list', `limit=1 answered campaign ${firstCampaignId ?? ''}, after=${firstCampaignId ?? ''} the next one (${page2[0]?.id ?? 'none'}): paging works`);
      }
    }
    await pages.return(undefined);
  } catch (error) {
    failed('campaign_list', note(error));
  }

  // One page of an insights query (one request), checked by the client's answer guard.
  const firstPage = async (query: InsightsQuery): Promise<{ rows: number; labels: Set<string>; firstEntityId: string | undefined }> => {
    // Only the first page: doctor reads, it does not drain an account.
    for await (const page of client.insightsPages(query)) return { rows: page.length, labels: new Set(page.map((row) => row.supply)), firstEntityId: page[0]?.entityId };
    return { rows: 0, labels: new Set(), firstEntityId: undefined };
  };

  // A campaign that delivered in the past day, for the filter probe (rows to compare).
  let deliveredCampaignId: string | undefined;
  for (const level of INSIGHTS_LEVELS) {
    for (const range of ranges) {
      const name = `insights_${level}_${range.name}`;
      try {
        const got = await firstPage({ scope: { level: 'ad_account' }, aggregationLevel: level, timeGranularity: 'none', fields: ['impressions', 'clicks', 'spend'], timeRanges: [range] });
        if (level === 'campaign' && range.name === 'past_day') deliveredCampaignId = got.firstEntityId;
        pass(name, got.rows === 0
          ? `no ${level} rows for ${describeRange(range)} (no delivery then), so the range echo could not be compared; limit=${client.insightsPageSize} accepted`
          : `${plural(got.rows, `${level} row`)}, each for ${describeRange(range)} as asked; limit=${client.insightsPageSize} accepted`);
      } catch (error) {
        failed(name, note(error));
      }
    }
  }

  const pastDay = ranges[1];

  // Filters: ad groups of one campaign; every row must belong to it.
  const filterId = deliveredCampaignId ?? firstCampaignId ?? '00000000-0000-4000-8000-000000000000';
  const spelled = profile.insights.filter.operators.in?.wire ?? 'in';
  try {
    const got = await firstPage({ scope: { level: 'ad_account' }, aggregationLevel: 'ad_group', timeGranularity: 'none', fields: ['impressions'], timeRanges: [pastDay], filters: [{ field: 'campaign.id', operator: 'in', value: [filterId] }] });
    pass('filters', `${profile.insights.params.filters} campaign.id ${spelled} [${filterId}] answered ${plural(got.rows, 'ad group row')}${got.rows > 0 ? ', all of that campaign' : ''}`);
  } catch (error) {
    failed('filters', note(error));
  }

  // Supply: split by supply; every row must say which.
  const split = profile.insights.supply.values.split;
  try {
    const got = await firstPage({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', fields: ['impressions'], timeRanges: [pastDay], supply: 'split' });
    pass('supply', got.rows === 0 ? `${profile.insights.supply.param}=${split ?? ''} accepted; no rows for the past day to show the split` : `${profile.insights.supply.param}=${split ?? ''} answered ${plural(got.rows, 'row')} labelled ${[...got.labels].sort().join(' and ')}`);
  } catch (error) {
    failed('supply', note(error));
  }

  // Metadata fields and zero-impression items (what lets ad-group and ad rules skip list calls).
  if (profile.insights.metadata === null && profile.insights.zeroImpressionItems === null) {
    pass('metadata', `not used by the ${profile.name} profile: ad-group and ad rules list ad groups and ads per parent instead`);
  } else {
    try {
      const caps = await probeCapabilities(client, { nowSeconds: options.nowSeconds });
      const ok = caps.metadata_fields && caps.zero_impression_items;
      if (ok) pass('metadata', caps.detail);
      else fail('metadata', `${caps.detail}; fix: ad-group and ad rules will list parents instead (about one request per campaign and per ad group); if the filters or fields checks fail too, ${tryProfiles(profilesDiffering(profile, (p) => p.insights.metadata), 'the API lacks the reference metadata')}`);
    } catch (error) {
      failed('metadata', note(error));
    }
  }

  // The request budget: the API documents no header for it, so this is this process's ledger.
  const used = client.budget.totalTaken;
  if (saw429) {
    fail('request_budget', `the API answered 429: this key's requests for the hour are used; doctor used ${used} of at most ${DOCTOR_MAX_REQUESTS}; fix: wait for the hour to roll, or stop other processes using the key`);
  } else {
    pass('request_budget', `no 429 in ${plural(used, 'request')} (doctor uses at most ${DOCTOR_MAX_REQUESTS}); the documented limit is ${WIRE.rateLimit.requestsPerHour} requests per hour per key and the API sends no header saying how many are left, so the autopilot keeps its own count per key`);
  }
  return { report: { ok: checks.every((c) => c.ok), checks }, requests: used };
}

/** A probe client: the environment's key, base URL, clock and profile; no retries; at most 15 requests. */
export function probeClient(client: ThradClient): ThradClient {
  return client.derive({ retry: { maxAttempts: 1 }, listPageSize: 1, budget: new RequestBudget(client.clock, { requestsPerHour: DOCTOR_MAX_REQUESTS }) });
}

export async function doctorCommand(args: string[], ctx: DoctorContext): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (values.help) {
      ctx.io.out(DOCTOR_HELP);
      return EXIT.ok;
    }
    json = values.json === true;
  } catch (error) {
    ctx.io.err(`${(error as Error).message}\n\n${DOCTOR_HELP}`);
    return EXIT.usage;
  }
  let config: LocalConfig;
  try {
    config = loadConfig({}, ctx.env, ctx.cwd);
  } catch (error) {
    if (error instanceof ConfigError) {
      ctx.io.err(`Configuration: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  let environment: ApiEnvironment | undefined;
  try {
    environment = await openApiEnvironment(config, { role: 'cli', needApi: true, env: ctx.env });
    const client = probeClient(environment.client);
    const baseUrl = environment.client.baseUrl;
    const { report, requests } = await runDoctorChecks(client, { nowSeconds: Math.floor(environment.clock.nowMs() / 1000), baseUrl });
    if (json) {
      ctx.io.out(JSON.stringify(report, null, 2));
    } else {
      ctx.io.out(`Thrad doctor: ${environment.describeApi}, wire profile ${client.wireProfile.name} (${client.wireProfile.summary})`);
      for (const check of report.checks) ctx.io.out(`${check.ok ? 'PASS' : 'FAIL'} ${check.name}: ${check.detail}`);
      const failures = report.checks.filter((c) => !c.ok).length;
      ctx.io.out(`${requests} requests used (at most ${DOCTOR_MAX_REQUESTS}); ${failures === 0 ? 'every check passed' : `${failures} of ${report.checks.length} checks failed`}.`);
    }
    return report.ok ? EXIT.ok : EXIT.failure;
  } catch (error) {
    if (error instanceof EnvironmentError || error instanceof ApiKeyUnavailableError) {
      ctx.io.err(`${error.message}${error instanceof ApiKeyUnavailableError ? ' Set THRAD_ADS_API_KEY (or THRAD_API_KEY_SECRET_ID), or unset both to use the bundled sandbox.' : ''}`);
      return EXIT.failure;
    }
    throw error;
  } finally {
    await environment?.close();
  }
}
