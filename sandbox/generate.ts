// Large generated worlds: `generateFixture({ orgs, campaigns, seed, now })` builds a fixture with
// many organizations, each with its own key, ad account and campaigns, for the benchmarks and
// for `npm run sandbox -- --generate orgs=200,campaigns=500`. The same options give the same
// fixture. Campaigns come in a realistic mix (CAMPAIGN_KINDS) chosen so that every shipped rule
// in rules/ has something to decide: expensive clicks, budgets nearly spent, cheap busy winners,
// weak click-through, today's spikes, stalled ads, fresh approvals, reviews still to come,
// [daypart] names. Seven days of delivery history per ad, and a traffic model for the live ones
// so the world keeps delivering as the clock moves.
import { GenerateSpecError } from './errors';
import { collectFixture, parseOrganizations, parseWorldHead, type FixtureOrganizationInput, type MultiOrgFixture, type MultiOrgFixtureInput, type WorldSource } from './fixture';
import { hash32, mulberry32 } from './random';

export interface GenerateOptions {
  orgs: number;
  /** Campaigns per organization. */
  campaigns: number;
  /** Default 1. */
  adGroupsPerCampaign?: number;
  /** Default 1. */
  adsPerAdGroup?: number;
  seed: number;
  /** The world's clock start (Unix seconds). */
  now: number;
  /**
   * The mix, when not CAMPAIGN_KINDS' own weights: a weight per kind (kinds left out keep theirs).
   * A large org with the default mix matches more campaigns per rule than the shipped rules'
   * max_actions_per_run; the benchmarks give the rule-triggering kinds small weights.
   */
  weights?: Partial<Record<CampaignKindName, number>>;
  /** Share of the live and paused campaigns named "[daypart]" (default 0.12). */
  daypartShare?: number;
}

/** The largest world the generator builds (and `--generate` accepts). */
export const GENERATE_LIMITS = { orgs: 10_000, campaigns: 10_000, ad_groups: 20, ads: 20, total_ads: 2_000_000 } as const;

const DAY_S = 86_400;
const HOUR_S = 3_600;
const HISTORY_DAYS = 7;

type MultiOrgCampaignInput = NonNullable<FixtureOrganizationInput['campaigns']>[number];
type DeliveryRowInput = NonNullable<MultiOrgCampaignInput['ad_groups'][number]['ads'][number]['delivery']>[number];

/** Daily delivery of a whole campaign (all its ads together). */
interface DailyProfile {
  impressions: number;
  ctr: number;
  cpcUsd: number;
}

type Draw = (min: number, max: number) => number;

interface CampaignKind {
  /** Share of campaigns, in percent (the weights add up to 100). */
  weight: number;
  status: 'active' | 'paused' | 'archived';
  review: 'approved' | 'in_review' | 'rejected';
  /** Which days before today (1 = yesterday) delivered; none = never delivered. */
  historyDays: readonly number[];
  /** The campaign's daily delivery over its history. */
  profile: (draw: Draw) => DailyProfile;
  /** Share of the lifetime budget spent at the start. */
  spentFraction: (draw: Draw) => number;
  /** Whether a traffic model keeps it delivering as the clock moves (active kinds). */
  live: boolean;
  /** Extra delivery in the last complete hour, as a multiple of its usual CPC (a spike today). */
  spikeCpcMultiple?: number;
  /** Shape of a campaign that was never delivered: created this long before now. */
  freshSeconds?: (draw: Draw) => number;
  /** For campaigns in review: the sandbox's own verdict after this many seconds. */
  autoReview?: (draw: Draw) => { after_seconds: number; verdict: 'approved' | 'rejected' };
}

const ALL_DAYS = [1, 2, 3, 4, 5, 6, 7] as const;
const healthy = (draw: Draw): DailyProfile => ({ impressions: draw(2_000, 8_000), ctr: draw(0.012, 0.03), cpcUsd: draw(0.6, 1.8) });

/** The mix, and what each kind is there for (the rule in rules/ it gives a decision to). */
export const CAMPAIGN_KINDS = {
  /** Nothing to do: every rule finds no match. */
  steady: { weight: 44, status: 'active', review: 'approved', historyDays: ALL_DAYS, profile: healthy, spentFraction: (d) => d(0.15, 0.6), live: true },
  /** cpc-guard and bid-down-expensive: over $2.50 a click with well over 100 clicks in 3 days. */
  expensive: { weight: 10, status: 'active', review: 'approved', historyDays: ALL_DAYS, profile: (d) => ({ impressions: d(3_000, 6_000), ctr: d(0.015, 0.025), cpcUsd: d(2.7, 4) }), spentFraction: (d) => d(0.3, 0.7), live: true },
  /** budget-guard: 91–97% of the lifetime budget spent. */
  near_budget: { weight: 8, status: 'active', review: 'approved', historyDays: ALL_DAYS, profile: (d) => ({ impressions: d(2_000, 6_000), ctr: d(0.012, 0.03), cpcUsd: d(0.8, 1.6) }), spentFraction: (d) => d(0.91, 0.97), live: true },
  /** scale-winners: under $1 a click, hundreds of clicks a week, 82–88% of the budget spent. */
  winner: { weight: 5, status: 'active', review: 'approved', historyDays: ALL_DAYS, profile: (d) => ({ impressions: d(6_000, 10_000), ctr: d(0.02, 0.03), cpcUsd: d(0.5, 0.9) }), spentFraction: (d) => d(0.82, 0.88), live: true },
  /** ctr-floor: under 0.5% click-through over more than 5,000 impressions in 7 days. */
  low_ctr: { weight: 5, status: 'active', review: 'approved', historyDays: ALL_DAYS, profile: (d) => ({ impressions: d(1_500, 3_000), ctr: d(0.002, 0.004), cpcUsd: d(0.8, 1.5) }), spentFraction: (d) => d(0.2, 0.6), live: true },
  /** cpc-spike-guard: today's clicks cost over twice the 7-day CPC, with 30+ clicks today. */
  spike: { weight: 4, status: 'active', review: 'approved', historyDays: ALL_DAYS, profile: (d) => ({ impressions: d(3_000, 6_000), ctr: d(0.015, 0.025), cpcUsd: d(0.8, 1.2) }), spentFraction: (d) => d(0.3, 0.6), live: true, spikeCpcMultiple: 2.4 },
  /** stalled-ads: active and approved, but nothing served for the last two days. */
  stalled: { weight: 3, status: 'active', review: 'approved', historyDays: [3, 4, 5, 6, 7], profile: healthy, spentFraction: (d) => d(0.3, 0.6), live: false },
  /** activate-approved: approved, paused, never delivered. */
  approved_new: { weight: 5, status: 'paused', review: 'approved', historyDays: [], profile: healthy, spentFraction: () => 0, live: false, freshSeconds: (d) => d(HOUR_S, 6 * HOUR_S) },
  /** activate-approved, later: the sandbox approves most of them within 5–90 minutes. */
  in_review: {
    weight: 7,
    status: 'paused',
    review: 'in_review',
    historyDays: [],
    profile: healthy,
    spentFraction: () => 0,
    live: false,
    freshSeconds: (d) => d(10 * 60, 3 * HOUR_S),
    autoReview: (d) => ({ after_seconds: Math.round(d(300, 5_400)), verdict: d(0, 1) < 0.85 ? 'approved' : 'rejected' }),
  },
  /** Paused by a person after delivering: no rule may start it again. */
  paused: { weight: 5, status: 'paused', review: 'approved', historyDays: [4, 5, 6, 7], profile: healthy, spentFraction: (d) => d(0.3, 0.8), live: false },
  rejected: { weight: 2, status: 'paused', review: 'rejected', historyDays: [], profile: healthy, spentFraction: () => 0, live: false, freshSeconds: (d) => d(DAY_S, 3 * DAY_S) },
  archived: { weight: 2, status: 'archived', review: 'approved', historyDays: [5, 6, 7], profile: healthy, spentFraction: (d) => d(0.5, 0.95), live: false },
} as const satisfies Record<string, CampaignKind>;

export type CampaignKindName = keyof typeof CAMPAIGN_KINDS;
const KIND_NAMES = Object.keys(CAMPAIGN_KINDS) as CampaignKindName[];

/** Share of the live and paused campaigns named "[daypart]" (daypart-pause / daypart-resume). */
const DAYPART_FRACTION = 0.12;

const THEMES = ['Trail Shoes', 'Rain Jackets', 'Tents', 'Camp Stoves', 'Headlamps', 'Sleeping Bags', 'Water Filters', 'Climbing Ropes', 'Kayaks', 'Ski Wax'] as const;
const ANGLES = ['Spring Sale', 'New Season', 'Always On', 'Clearance', 'Launch', 'Retargeting'] as const;

const hex = (value: number, width: number): string => value.toString(16).padStart(width, '0');

/** The id space of one generated world: UUID-shaped, deterministic, unique by construction. */
function idMaker(seed: number): (type: number, org: number, ordinal: number) => string {
  const world = hex(hash32(`generated-world|${seed}`), 8);
  // join() makes flat strings; a template literal makes a rope of several heap objects per id.
  return (type, org, ordinal) => [world, hex(org, 4), `4${hex(type, 1)}00`, '8000', hex(ordinal, 12)].join('-');
}

/** The generated key of organization `orgIndex` (deterministic: `ak_gen_<org index>_<hash>`). */
export function generatedKey(seed: number, orgIndex: number): string {
  return `ak_gen_${orgIndex}_${hex(hash32(`generated-key|${seed}|${orgIndex}`), 8)}`;
}

function checkOptions(options: GenerateOptions): Required<GenerateOptions> {
  const full = { adGroupsPerCampaign: 1, adsPerAdGroup: 1, weights: {}, daypartShare: DAYPART_FRACTION, ...options };
  if (!Number.isFinite(full.daypartShare) || full.daypartShare < 0 || full.daypartShare > 1) throw new GenerateSpecError('daypartShare', `daypartShare must be a fraction from 0 to 1 (got ${full.daypartShare})`);
  for (const [kind, weight] of Object.entries(full.weights)) {
    if (!Object.hasOwn(CAMPAIGN_KINDS, kind)) throw new GenerateSpecError('weights', `weights: no campaign kind "${kind}"; kinds: ${Object.keys(CAMPAIGN_KINDS).join(', ')}`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw new GenerateSpecError('weights', `weights.${kind} must be a number ≥ 0 (got ${String(weight)})`);
  }
  const whole = (field: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) throw new GenerateSpecError(field, `${field} must be a whole number from ${min} to ${max} (got ${value})`);
  };
  whole('orgs', full.orgs, 1, GENERATE_LIMITS.orgs);
  whole('campaigns', full.campaigns, 1, GENERATE_LIMITS.campaigns);
  whole('ad_groups', full.adGroupsPerCampaign, 1, GENERATE_LIMITS.ad_groups);
  whole('ads', full.adsPerAdGroup, 1, GENERATE_LIMITS.ads);
  whole('seed', full.seed, -2_147_483_648, 4_294_967_295);
  whole('now', full.now, 30 * DAY_S, Number.MAX_SAFE_INTEGER);
  const totalAds = full.orgs * full.campaigns * full.adGroupsPerCampaign * full.adsPerAdGroup;
  if (totalAds > GENERATE_LIMITS.total_ads) {
    throw new GenerateSpecError('orgs', `that world would hold ${totalAds} ads; the generator builds at most ${GENERATE_LIMITS.total_ads}`);
  }
  return full;
}

/** A world's fields without its organizations (the head of the fixture). */
function worldInput(o: Required<GenerateOptions>): Omit<MultiOrgFixtureInput, 'organizations'> {
  return {
    description: `Generated world: ${o.orgs} organizations × ${o.campaigns} campaigns × ${o.adGroupsPerCampaign} ad groups × ${o.adsPerAdGroup} ads (seed ${o.seed}).`,
    now: o.now,
    seed: o.seed,
  };
}

/** The organizations of a generated world as plain JSON input, one at a time. */
function* organizationInputs(o: Required<GenerateOptions>): Generator<FixtureOrganizationInput> {
  const id = idMaker(o.seed);
  const today = Math.floor(o.now / DAY_S) * DAY_S;
  // One string per history day, shared by every row of that day.
  const dates = Array.from({ length: HISTORY_DAYS + 1 }, (_, d) => new Date((today - d * DAY_S) * 1000).toISOString().slice(0, 10));
  const lastHour = Math.floor(o.now / HOUR_S) * HOUR_S - HOUR_S;
  const lastHourIso = `${new Date(lastHour * 1000).toISOString().slice(0, 13)}:00:00Z`;
  const adsPerCampaign = o.adGroupsPerCampaign * o.adsPerAdGroup;
  const creatives = THEMES.map((theme) => ({ type: 'chat_card' as const, title: `${theme} for every trail`, body: 'Light, tough, and in stock today.' }));
  const mix = mixOf(o.weights);
  for (let org = 0; org < o.orgs; org += 1) {
    const next = mulberry32(hash32(`generated-org|${o.seed}|${org}`));
    const draw: Draw = (min, max) => min + (max - min) * next();
    const campaigns: MultiOrgCampaignInput[] = [];
    for (let c = 0; c < o.campaigns; c += 1) {
      const kind: CampaignKind = CAMPAIGN_KINDS[pickKind(next(), mix)];
      const profile = kind.profile(draw);
      const daypart = kind.status !== 'archived' && kind.review === 'approved' && next() < o.daypartShare;
      const theme = c % THEMES.length;
      const name = [THEMES[theme] as string, ANGLES[Math.floor(c / THEMES.length) % ANGLES.length] as string, String(c), ...(daypart ? ['[daypart]'] : [])].join(' ');
      const created = kind.freshSeconds ? o.now - Math.round(kind.freshSeconds(draw)) : today - 21 * DAY_S + c;
      // The campaign's daily totals, shared among its ads (remainders to the first ones).
      const perDay = kind.historyDays.map((daysAgo) => {
        const impressions = Math.round(profile.impressions * draw(0.85, 1.15));
        const clicks = Math.round(impressions * profile.ctr);
        return { daysAgo, impressions, clicks, spendMicros: Math.round(clicks * profile.cpcUsd * 1_000_000) };
      });
      const spikeClicks = kind.spikeCpcMultiple === undefined ? 0 : Math.round(draw(30, 50));
      const spike = kind.spikeCpcMultiple === undefined
        ? undefined
        : { impressions: Math.round(spikeClicks / profile.ctr), clicks: spikeClicks, spendMicros: Math.round(spikeClicks * profile.cpcUsd * kind.spikeCpcMultiple * 1_000_000) };
      const spentMicros = perDay.reduce((sum, day) => sum + day.spendMicros, 0) + (spike?.spendMicros ?? 0);
      const fraction = kind.spentFraction(draw);
      const budgetMicros = fraction > 0 && spentMicros > 0 ? Math.ceil(spentMicros / fraction / 10_000) * 10_000 : Math.round(draw(500, 3_000)) * 1_000_000;
      const adGroups: MultiOrgCampaignInput['ad_groups'] = [];
      for (let g = 0; g < o.adGroupsPerCampaign; g += 1) {
        const ads: MultiOrgCampaignInput['ad_groups'][number]['ads'] = [];
        for (let a = 0; a < o.adsPerAdGroup; a += 1) {
          const slot = g * o.adsPerAdGroup + a;
          const delivery: DeliveryRowInput[] = perDay.map((day) => ({
            date: dates[day.daysAgo],
            impressions: share(day.impressions, adsPerCampaign, slot),
            clicks: share(day.clicks, adsPerCampaign, slot),
            spend_usd: share(day.spendMicros, adsPerCampaign, slot) / 1_000_000,
            supply: (day.daysAgo + c) % 2 === 0 ? 'thrad' : 'chatgpt',
          }));
          if (spike) {
            delivery.push({ hour: lastHourIso, impressions: share(spike.impressions, adsPerCampaign, slot), clicks: share(spike.clicks, adsPerCampaign, slot), spend_usd: share(spike.spendMicros, adsPerCampaign, slot) / 1_000_000, supply: 'chatgpt' });
          }
          ads.push({ id: id(3, org, (c * 32 + g) * 32 + a), status: 'active', creative: creatives[theme], delivery });
        }
        adGroups.push({ id: id(2, org, (c * 32 + g) * 32), name: `Group ${g + 1}`, status: 'active', bidding_config: { max_bid_micros: Math.round(draw(100, 300)) * 10_000 }, ads });
      }
      const campaign: MultiOrgCampaignInput = {
        id: id(1, org, c * 1_024),
        name,
        status: kind.status,
        review_status: kind.review,
        start_time: created,
        created_at: created,
        budget: { lifetime_spend_limit_micros: Math.max(990_000, budgetMicros) },
        pricing_model: 'cpc',
        ad_groups: adGroups,
      };
      if (kind.autoReview) campaign.auto_review = kind.autoReview(draw);
      if (kind.live) campaign.traffic = { impressions_per_hour: profile.impressions / 24 / adsPerCampaign, ctr: profile.ctr, cpc_usd: profile.cpcUsd, noise: 0.15 };
      campaigns.push(campaign);
    }
    yield {
      api_keys: [generatedKey(o.seed, org)],
      account: { id: id(0, org, 0), name: `Generated Org ${org}`, url: `https://org-${org}.example` },
      billing: { card_configured: true, declines: false },
      campaigns,
    };
  }
}

/** The generated fixture as plain JSON input (what `--write-fixture` writes), all at once. */
export function generateFixtureInput(options: GenerateOptions): MultiOrgFixtureInput {
  const o = checkOptions(options);
  return { ...worldInput(o), organizations: [...organizationInputs(o)] };
}

export interface GenerateHooks {
  /** Called with the head of the fixture (its fields without organizations), first. */
  onWorld?: (world: Omit<MultiOrgFixtureInput, 'organizations'>) => void;
  /** Called with each organization's input as it is generated (e.g. to stream it to a file). */
  onOrganization?: (organization: FixtureOrganizationInput, index: number) => void;
}

/**
 * The generated fixture, validated by the fixture schema one organization at a time (so only one
 * organization's raw input is alive at once). It passes as validated to startSandbox.
 */
export function generateFixture(options: GenerateOptions, hooks: GenerateHooks = {}): MultiOrgFixture {
  return collectFixture(generatedWorld(options, hooks));
}

/**
 * A generated world to start the sandbox on (`startSandbox({ fixture: generatedWorld(...) })`)
 * without ever holding its whole fixture: each organization is generated, validated and loaded
 * in turn. The cheapest way to a large world. The source can be loaded once.
 */
export function generatedWorld(options: GenerateOptions, hooks: GenerateHooks = {}): WorldSource {
  const o = checkOptions(options);
  const head = worldInput(o);
  hooks.onWorld?.(head);
  function* observed(): Generator<FixtureOrganizationInput> {
    let index = 0;
    for (const organization of organizationInputs(o)) {
      hooks.onOrganization?.(organization, index);
      index += 1;
      yield organization;
    }
  }
  return { head: parseWorldHead(head, 'generated fixture'), organizations: parseOrganizations(observed(), 'generated fixture') };
}

interface Mix {
  weights: Record<CampaignKindName, number>;
  total: number;
}

function mixOf(overrides: Partial<Record<CampaignKindName, number>>): Mix {
  const weights = Object.fromEntries(KIND_NAMES.map((name) => [name, overrides[name] ?? CAMPAIGN_KINDS[name].weight])) as Record<CampaignKindName, number>;
  const total = KIND_NAMES.reduce((sum, name) => sum + weights[name], 0);
  if (total <= 0) throw new GenerateSpecError('weights', 'weights: at least one kind needs a weight above 0');
  return { weights, total };
}

function pickKind(u: number, mix: Mix): CampaignKindName {
  let x = u * mix.total;
  for (const name of KIND_NAMES) {
    x -= mix.weights[name];
    if (x < 0) return name;
  }
  return KIND_NAMES[KIND_NAMES.length - 1];
}

/** Slot `slot`'s part of an integer `total` shared among `parts` (remainders to the first slots). */
function share(total: number, parts: number, slot: number): number {
  const base = Math.floor(total / parts);
  return base + (slot < total - base * parts ? 1 : 0);
}

// ---- the `--generate` spec ----------------------------------------------------------------------

export interface GenerateSpec {
  orgs: number;
  campaigns: number;
  adGroupsPerCampaign?: number;
  adsPerAdGroup?: number;
  now?: number;
}

/** Spec keys → option names; the spelling users type on the command line. */
const SPEC_KEYS = { orgs: 'orgs', campaigns: 'campaigns', ad_groups: 'adGroupsPerCampaign', ads: 'adsPerAdGroup', now: 'now' } as const satisfies Record<string, keyof GenerateSpec>;
type SpecKey = keyof typeof SPEC_KEYS;

/** Parse `orgs=200,campaigns=500[,ad_groups=N][,ads=N][,now=UNIX]`; errors name the field. */
export function parseGenerateSpec(text: string): GenerateSpec {
  const spec: Partial<Record<keyof GenerateSpec, number>> = {};
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const key = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim();
    const raw = eq < 0 ? '' : trimmed.slice(eq + 1).trim();
    if (!(key in SPEC_KEYS)) throw new GenerateSpecError(key, `unknown key "${key}" (expected ${Object.keys(SPEC_KEYS).join(', ')}, as in orgs=200,campaigns=500)`);
    if (seen.has(key)) throw new GenerateSpecError(key, `${key} is given twice`);
    seen.add(key);
    if (!/^\d+$/.test(raw)) throw new GenerateSpecError(key, `${key} must be a whole number (got "${raw}")`);
    spec[SPEC_KEYS[key as SpecKey]] = Number(raw);
  }
  for (const required of ['orgs', 'campaigns'] as const) {
    if (spec[required] === undefined) throw new GenerateSpecError(required, `${required}= is required (as in orgs=200,campaigns=500)`);
  }
  return spec as GenerateSpec;
}
