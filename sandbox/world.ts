// The sandbox's world: organizations (each with its keys, account, billing and campaigns → ad
// groups → ads), their delivery, and the state machines of fact sheet §3. Every /v1 handler is a
// method here that either returns the response body or throws an `ApiError`; the server passes
// the organization the request's key belongs to, and an id of another organization's entity is a
// 404 exactly like a missing one. Without an organization (tests, the control API) a handler
// works on the first organization (the only one of a single-organization fixture) and looks ids
// up across the world. Delivery is generated lazily, per organization: before any read or change,
// `sync(org)` brings that organization up to the sandbox clock with the statuses that held while
// time passed, so a request costs O(its organization), never O(all organizations).
import { createHash } from 'node:crypto';
import type { Clock } from '../functions/shared/clock';
import { keyFingerprint } from '../functions/shared/secrets';
import { behaviourSchema, type Behaviour } from './behaviour';
import { SandboxClock } from './clock';
import { accruedBy, AdDelivery, DAY_S, HOUR_S, hourTarget, SUPPLY_LIST, type Span, type Totals } from './delivery';
import { ApiError, invalidValue, notFound } from './errors';
import { isWorldSource, organizationsOf, type AnyFixture, type Fixture, type FixtureCampaign, type FixtureOrganization, type TrafficModel, type WorldSource } from './fixture';
import { Organization, type Charge, type ModeledAd, type ModeledCampaign } from './organization';
import { hash32, mulberry32, uuidFrom } from './random';
import {
  adGroupStandaloneCreateSchema,
  adGroupUpdateSchema,
  adStandaloneCreateSchema,
  adUpdateSchema,
  campaignCreateSchema,
  campaignUpdateSchema,
  parseBody,
  type AdCreate,
  type AdGroupCreate,
  type CreativeInput,
  type TargetingInput,
} from './requests';

export type Status = 'active' | 'paused' | 'archived';
export type ReviewStatus = 'in_review' | 'approved' | 'rejected';
export type Action = 'activate' | 'pause' | 'archive';

export interface CampaignRec {
  id: string;
  name: string;
  description: string | null;
  status: Status;
  review_status: ReviewStatus;
  start_time: number;
  end_time: number | null;
  budget_micros: number;
  recurring_frequency: string;
  pricing_model: string;
  countries: string[];
  created_at: number;
  updated_at: number;
  traffic: TrafficModel | undefined;
  /** The owning organization's index. */
  org: number;
  autoReview: { atSeconds: number; verdict: 'approved' | 'rejected' } | undefined;
  spentMicros: number;
  adGroupIds: string[];
}

export interface AdGroupRec {
  id: string;
  campaign_id: string;
  name: string;
  /** No separate archived state: archiving reads back as paused (§2.8). */
  status: 'active' | 'paused';
  context_hints: string[];
  max_bid_micros: number | null;
  created_at: number;
  updated_at: number;
  creativeType: string;
  adIds: string[];
  /** The owning organization's index. */
  org: number;
}

export interface AdRec {
  id: string;
  ad_group_id: string;
  name: string;
  /** No separate archived state: archiving reads back as paused (§2.9). */
  status: 'active' | 'paused';
  creative: Record<string, unknown>;
  created_at: number;
  updated_at: number;
  traffic: TrafficModel | undefined;
  delivery: AdDelivery;
  /** The owning organization's index. */
  org: number;
}

export interface ApiKeyRec {
  key: string;
  fingerprint: string;
  /** null = the active key. */
  expiresAt: number | null;
  /** The organization the key serves (its index). */
  org: number;
}

export interface FileRec {
  file_id: string;
  bytes: number;
  mimetype: string;
  created_at: number;
}

export interface ListParams {
  limit: number;
  after?: string;
  before?: string;
  order: 'asc' | 'desc';
}

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  count: number;
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface WorldOptions {
  seed?: number;
  clockSpeed?: number;
  realClock?: Clock;
}

const TARGET_STATUS: Record<Action, Status> = { activate: 'active', pause: 'paused', archive: 'archived' };

export class World {
  readonly clock: SandboxClock;
  readonly behaviour: Behaviour;
  readonly seed: number;
  /** In fixture order; a single-organization fixture has one. */
  readonly orgs: Organization[] = [];
  /** Every organization's entities by id (ids are unique across the world). */
  readonly campaigns = new Map<string, CampaignRec>();
  readonly adGroups = new Map<string, AdGroupRec>();
  readonly ads = new Map<string, AdRec>();
  readonly files = new Map<string, FileRec>();
  readonly remoteImages: Fixture['remote_images'];
  /** Bumped on every change that can alter an insights answer (each organization has its own too). */
  dataVersion = 0;
  /** Bumped on every change made by a /v1 request (the request log's `effect`). */
  mutations = 0;
  /** Every key ever given or minted → its record (which names its organization). */
  private readonly keyIndex = new Map<string, ApiKeyRec>();
  private readonly orgsByAccount = new Map<string, Organization>();
  private readonly nextRandom: () => number;
  private fileCounter = 0;

  /** From a validated fixture, or from a source whose organizations come one at a time (loaded as they come). */
  constructor(from: AnyFixture | WorldSource, options: WorldOptions = {}) {
    const fixture = isWorldSource(from) ? from.head : from;
    const organizations = isWorldSource(from) ? from.organizations : organizationsOf(from);
    this.seed = options.seed ?? fixture.seed ?? 1;
    this.nextRandom = mulberry32(hash32(`ids|${this.seed}`));
    const startSeconds = fixture.now ?? Math.floor((options.realClock?.nowMs() ?? Date.now()) / 1000);
    this.clock = new SandboxClock(startSeconds * 1000, options.clockSpeed ?? fixture.clock_speed ?? 0, options.realClock);
    this.behaviour = behaviourSchema.parse(fixture.behaviour ?? {});
    this.remoteImages = fixture.remote_images;
    let index = 0;
    for (const input of organizations) {
      this.loadOrganization(input, index, startSeconds);
      index += 1;
    }
  }

  // ---- organizations -------------------------------------------------------------------------

  /** The first organization: the only one of a single-organization fixture. */
  get primary(): Organization {
    return this.orgs[0];
  }

  /** The first organization's account (single-organization API; see `orgs` for the others). */
  get account(): Organization['account'] {
    return this.primary.account;
  }

  /** The first organization's billing. */
  get billing(): Organization['billing'] {
    return this.primary.billing;
  }

  /** The first organization's keys. */
  get keys(): ApiKeyRec[] {
    return this.primary.keys;
  }

  /** Every deposit charge, all organizations together (one organization: its own list). */
  get charges(): readonly Charge[] {
    return this.orgs.length === 1 ? this.primary.charges : this.orgs.flatMap((o) => o.charges);
  }

  /** The organization whose ad account has this id. */
  organization(accountId: string): Organization | undefined {
    return this.orgsByAccount.get(accountId);
  }

  /** The organization a key, or an entity record, belongs to. */
  ownerOf(record: { org: number }): Organization {
    return this.orgs[record.org];
  }

  // ---- loading -------------------------------------------------------------------------------

  private newId(): string {
    return uuidFrom(this.nextRandom);
  }

  private loadOrganization(input: FixtureOrganization, index: number, startSeconds: number): void {
    const org = new Organization(index, input.account, input.billing, startSeconds);
    this.orgs.push(org);
    this.orgsByAccount.set(org.account.id, org);
    for (const entry of input.api_keys) {
      const key = typeof entry === 'string' ? entry : entry.key;
      // A key listed twice in one organization keeps its first entry (as the list lookup did).
      if (!this.keyIndex.has(key)) this.addKey(org, key, typeof entry === 'string' ? null : entry.expires_at);
    }
    input.campaigns.forEach((campaign, c) => this.loadCampaign(org, campaign, c, startSeconds));
  }

  private addKey(org: Organization, key: string, expiresAt: number | null): ApiKeyRec {
    const record: ApiKeyRec = { key, fingerprint: keyFingerprint(key), expiresAt, org: org.index };
    org.keys.push(record);
    this.keyIndex.set(key, record);
    return record;
  }

  private loadCampaign(org: Organization, input: FixtureCampaign, index: number, now: number): void {
    const created = input.created_at ?? now - 30 * DAY_S + index;
    const campaign: CampaignRec = {
      id: input.id ?? this.newId(),
      name: input.name,
      description: input.description,
      status: input.status,
      review_status: input.review_status,
      start_time: input.start_time ?? created,
      end_time: input.end_time,
      budget_micros: input.budget.lifetime_spend_limit_micros,
      recurring_frequency: input.recurring_frequency,
      pricing_model: input.pricing_model,
      countries: normaliseCountries(input.targeting, true),
      created_at: created,
      updated_at: created,
      traffic: input.traffic,
      org: org.index,
      autoReview: input.auto_review ? { atSeconds: now + input.auto_review.after_seconds, verdict: input.auto_review.verdict } : undefined,
      spentMicros: 0,
      adGroupIds: [],
    };
    this.campaigns.set(campaign.id, campaign);
    org.campaigns.set(campaign.id, campaign);
    input.ad_groups.forEach((groupInput, g) => {
      const group: AdGroupRec = {
        id: groupInput.id ?? this.newId(),
        campaign_id: campaign.id,
        name: groupInput.name,
        status: groupInput.status === 'active' ? 'active' : 'paused',
        context_hints: groupInput.context_hints,
        max_bid_micros: groupInput.bidding_config?.max_bid_micros ?? null,
        created_at: groupInput.created_at ?? created + g,
        updated_at: groupInput.created_at ?? created + g,
        creativeType: groupInput.ads[0]?.creative.type ?? 'chat_card',
        adIds: [],
        org: org.index,
      };
      this.adGroups.set(group.id, group);
      campaign.adGroupIds.push(group.id);
      groupInput.ads.forEach((adInput, a) => {
        const ad: AdRec = {
          id: adInput.id ?? this.newId(),
          ad_group_id: group.id,
          name: adInput.name ?? defaultAdName(adInput.creative),
          status: adInput.status === 'active' ? 'active' : 'paused',
          creative: { ...adInput.creative },
          created_at: adInput.created_at ?? group.created_at + a,
          updated_at: adInput.created_at ?? group.created_at + a,
          traffic: adInput.traffic,
          delivery: new AdDelivery(),
          org: org.index,
        };
        for (const row of adInput.delivery) {
          const span: Span = {
            start: row.date !== undefined ? Date.parse(`${row.date}T00:00:00Z`) / 1000 : parseHour(row.hour as string),
            hours: row.date !== undefined ? 24 : 1,
            supply: row.supply,
            impressions: row.impressions,
            clicks: row.clicks,
            spendMicros: Math.round(row.spend_usd * 1_000_000),
          };
          ad.delivery.add(span);
          campaign.spentMicros += span.spendMicros;
        }
        this.ads.set(ad.id, ad);
        group.adIds.push(ad.id);
      });
    });
  }

  // ---- time ----------------------------------------------------------------------------------

  nowSeconds(): number {
    return this.clock.nowSeconds();
  }

  /**
   * Bring delivery and scheduled reviews up to the clock: one organization's (what a request
   * reads or changes), or every organization's. Call before every read or change.
   */
  sync(org?: Organization): void {
    const target = this.clock.nowMs() / 1000;
    if (org) this.syncOrganization(org, target);
    else for (const each of this.orgs) this.syncOrganization(each, target);
  }

  private syncOrganization(org: Organization, target: number): void {
    if (target <= org.materializedUntil) return;
    const reviews = [...org.campaigns.values()]
      .filter((c) => c.autoReview !== undefined && (c.autoReview.atSeconds <= target))
      .sort((a, b) => (a.autoReview?.atSeconds ?? 0) - (b.autoReview?.atSeconds ?? 0));
    for (const campaign of reviews) {
      const review = campaign.autoReview;
      if (!review) continue;
      this.materialize(org, Math.max(org.materializedUntil, review.atSeconds));
      campaign.autoReview = undefined;
      this.setReview(campaign.id, review.verdict, Math.floor(review.atSeconds));
    }
    this.materialize(org, target);
  }

  private materialize(org: Organization, toSeconds: number): void {
    let s = org.materializedUntil;
    if (toSeconds <= s) return;
    const modeled = org.modeled(() => this.modeledCampaigns(org));
    while (s < toSeconds) {
      const hourStart = Math.floor(s / HOUR_S) * HOUR_S;
      const e = Math.min(hourStart + HOUR_S, toSeconds);
      for (const { campaign, ads } of modeled) this.accrueCampaign(org, campaign, ads, hourStart, s, e);
      s = e;
    }
    org.materializedUntil = toSeconds;
  }

  private modeledCampaigns(org: Organization): ModeledCampaign[] {
    const out: ModeledCampaign[] = [];
    for (const campaign of org.campaigns.values()) {
      const ads: ModeledCampaign['ads'] = [];
      for (const groupId of campaign.adGroupIds) {
        const group = this.adGroups.get(groupId) as AdGroupRec;
        for (const adId of group.adIds) {
          const ad = this.ads.get(adId) as AdRec;
          const model = ad.traffic ?? campaign.traffic;
          if (model) ads.push({ ad, group, model });
        }
      }
      if (ads.length > 0) out.push({ campaign, ads });
    }
    return out;
  }

  /** An ad's whole-hour targets per supply (SUPPLY_LIST order), computed once per hour however often the hour is synced. */
  private hourTargets(entry: ModeledAd, hourStart: number): readonly Totals[] {
    if (entry.targets?.hourStart !== hourStart) {
      entry.targets = { hourStart, bySupply: SUPPLY_LIST.map((supply) => hourTarget(entry.model, this.seed, entry.ad.id, hourStart, supply)) };
    }
    return entry.targets.bySupply;
  }

  /** Traffic for [from, to) inside the hour starting at `hourStart`. */
  private accrueCampaign(org: Organization, campaign: CampaignRec, ads: ModeledCampaign['ads'], hourStart: number, from: number, to: number): void {
    if (campaign.status !== 'active' || campaign.review_status !== 'approved') return;
    const a = Math.max(from, campaign.start_time);
    const b = Math.min(to, campaign.end_time ?? Number.POSITIVE_INFINITY);
    if (b <= a) return;
    const f0 = (a - hourStart) / HOUR_S;
    const f1 = (b - hourStart) / HOUR_S;
    for (const entry of ads) {
      const { ad, group } = entry;
      if (ad.status !== 'active' || group.status !== 'active') continue;
      const targets = this.hourTargets(entry, hourStart);
      for (const [s, supply] of SUPPLY_LIST.entries()) {
        const remaining = campaign.budget_micros - campaign.spentMicros;
        if (remaining <= 0) break;
        const target = targets[s];
        const end = accruedBy(target, f1);
        const start = accruedBy(target, f0);
        let delta = { impressions: end.impressions - start.impressions, clicks: end.clicks - start.clicks, spendMicros: end.spendMicros - start.spendMicros };
        if (delta.spendMicros > remaining) {
          // Spend stops at the budget: the hour is cut short in proportion.
          const scale = remaining / delta.spendMicros;
          delta = { impressions: Math.floor(delta.impressions * scale), clicks: Math.floor(delta.clicks * scale), spendMicros: remaining };
        }
        if (delta.impressions === 0 && delta.clicks === 0 && delta.spendMicros === 0) continue;
        ad.delivery.accrue(hourStart, supply, delta);
        campaign.spentMicros += delta.spendMicros;
        this.changed(org);
      }
    }
    if (this.behaviour.pause_on_budget_exhausted && campaign.spentMicros >= campaign.budget_micros && campaign.status === 'active') {
      campaign.status = 'paused';
      campaign.updated_at = Math.floor(b);
      this.changed(org);
    }
  }

  // ---- keys ----------------------------------------------------------------------------------

  /** The key record a bearer token authenticates as (it names its organization), or an ApiError 401. */
  authenticate(header: string | undefined): ApiKeyRec {
    if (header === undefined || header.trim() === '') {
      throw new ApiError(401, 'authentication_error', 'auth_required', 'Authentication credentials were not provided.');
    }
    const match = /^Bearer\s+(\S+)$/.exec(header.trim());
    const now = this.nowSeconds();
    const record = match ? this.keyIndex.get(match[1]) : undefined;
    if (!record || (record.expiresAt !== null && record.expiresAt <= now)) {
      throw new ApiError(401, 'authentication_error', 'invalid_api_key', 'Invalid API key.');
    }
    return record;
  }

  /** Mint a new active key for `org`; its old active key keeps working for the grace window. */
  rotateKey(newKey?: string, org: Organization = this.primary): { key: string; fingerprint: string; previous: { fingerprint: string; expires_at: number } | null } {
    const now = this.nowSeconds();
    const key = newKey ?? `ak_sandbox_${uuidFrom(this.nextRandom).replace(/-/g, '')}`;
    if (this.keyIndex.has(key)) throw invalidValue('new_key', 'That key is already in use.');
    const active = org.keys.find((k) => k.expiresAt === null);
    let previous: { fingerprint: string; expires_at: number } | null = null;
    if (active) {
      active.expiresAt = now + this.behaviour.key_rotation_grace_seconds;
      previous = { fingerprint: active.fingerprint, expires_at: active.expiresAt };
    }
    const record = this.addKey(org, key, null);
    return { key, fingerprint: record.fingerprint, previous };
  }

  // ---- views ---------------------------------------------------------------------------------

  campaignView(c: CampaignRec): Record<string, unknown> {
    return {
      id: c.id,
      name: c.name,
      description: c.description,
      status: c.status,
      review_status: c.review_status,
      start_time: c.start_time,
      end_time: c.end_time,
      budget: { lifetime_spend_limit_micros: c.budget_micros },
      recurring_frequency: c.recurring_frequency,
      pricing_model: c.pricing_model,
      targeting: { locations: { include: c.countries.map((cc) => ({ id: cc, type: 'country', country_code: cc })) } },
      created_at: c.created_at,
      updated_at: c.updated_at,
    };
  }

  adGroupView(g: AdGroupRec): Record<string, unknown> {
    return {
      id: g.id,
      campaign_id: g.campaign_id,
      name: g.name,
      context_hints: [...g.context_hints],
      status: g.status,
      bidding_config: { billing_event_type: 'impression', max_bid_micros: g.max_bid_micros },
      created_at: g.created_at,
      updated_at: g.updated_at,
    };
  }

  adView(a: AdRec): Record<string, unknown> {
    const group = this.adGroups.get(a.ad_group_id) as AdGroupRec;
    const campaign = this.campaigns.get(group.campaign_id) as CampaignRec;
    return {
      id: a.id,
      ad_group_id: a.ad_group_id,
      name: a.name,
      status: a.status,
      review_status: campaign.review_status,
      creative: { ...a.creative },
      ...(this.behaviour.ad_timestamps ? { created_at: a.created_at, updated_at: a.updated_at } : {}),
    };
  }

  // ---- lookups -------------------------------------------------------------------------------

  // With `org`, another organization's entity is not found, exactly like a missing one.

  campaign(id: string, param: string | null = null, org?: Organization): CampaignRec {
    const c = this.campaigns.get(id);
    if (!c || (org !== undefined && c.org !== org.index)) throw notFound('campaign', id, param);
    return c;
  }

  adGroup(id: string, param: string | null = null, org?: Organization): AdGroupRec {
    const g = this.adGroups.get(id);
    if (!g || (org !== undefined && g.org !== org.index)) throw notFound('ad group', id, param);
    return g;
  }

  ad(id: string, param: string | null = null, org?: Organization): AdRec {
    const a = this.ads.get(id);
    if (!a || (org !== undefined && a.org !== org.index)) throw notFound('ad', id, param);
    return a;
  }

  // ---- lists ---------------------------------------------------------------------------------

  listCampaigns(params: ListParams, org: Organization = this.primary): ListEnvelope<Record<string, unknown>> {
    return paginate([...org.campaigns.values()], params, (c) => this.campaignView(c));
  }

  listAdGroups(campaignId: string, params: ListParams, org?: Organization): ListEnvelope<Record<string, unknown>> {
    const campaign = this.campaign(campaignId, 'campaign_id', org);
    return paginate(campaign.adGroupIds.map((id) => this.adGroups.get(id) as AdGroupRec), params, (g) => this.adGroupView(g));
  }

  listAds(adGroupId: string, params: ListParams, org?: Organization): ListEnvelope<Record<string, unknown>> {
    const group = this.adGroup(adGroupId, 'ad_group_id', org);
    return paginate(group.adIds.map((id) => this.ads.get(id) as AdRec), params, (a) => this.adView(a));
  }

  /** GET /v1/ad_account. */
  accountView(org: Organization = this.primary): Record<string, unknown> {
    const account = org.account;
    return { id: account.id, name: account.name, url: account.url, timezone: 'UTC', currency_code: 'USD', ...(account.preview_url ? { preview_url: account.preview_url } : {}) };
  }

  // ---- campaigns -----------------------------------------------------------------------------

  /** Nested create (§2.5): billing check, atomic create, deposit, review; Idempotency-Key replay. */
  createCampaign(body: unknown, idempotencyKey: string | undefined, org: Organization = this.primary): { status: number; body: unknown } {
    const bodyHash = createHash('sha256').update(stableStringify(body)).digest('hex');
    if (idempotencyKey !== undefined) {
      const previous = org.idempotency.get(idempotencyKey);
      if (previous) {
        if (previous.bodyHash !== bodyHash) {
          throw new ApiError(409, 'invalid_request_error', 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request body.', null);
        }
        return { status: 201, body: previous.response };
      }
    }
    const input = parseBody(campaignCreateSchema, body, this.behaviour);
    if (input.ad_account_id !== undefined && input.ad_account_id !== org.account.id) {
      throw notFound('ad account', input.ad_account_id, 'ad_account_id');
    }
    const now = this.nowSeconds();
    const earliestStart = now + this.behaviour.start_time_default_lead_seconds;
    if (input.start_time !== undefined && input.start_time < earliestStart && this.behaviour.start_time_before_window === 'reject') {
      throw invalidValue('start_time', `start_time must be at or after ${earliestStart} (the earliest launch window).`);
    }
    const startTime = input.start_time ?? earliestStart;
    if (input.end_time !== undefined && input.end_time !== null && input.end_time <= startTime) {
      throw invalidValue('end_time', 'end_time must be after start_time.');
    }
    const countries = normaliseCountries(input.targeting, this.behaviour.accept_string_locations);
    input.ad_groups.forEach((group, g) => checkAdGroupCreatives(group, `ad_groups[${g}]`));
    if (!org.billing.card_configured) {
      throw new ApiError(400, 'invalid_request_error', 'billing_not_configured', 'Add a default payment card to your organization before launching a campaign.', null);
    }
    this.sync(org);
    const campaign: CampaignRec = {
      id: this.newId(),
      name: input.name,
      description: input.description ?? null,
      status: 'paused',
      review_status: 'in_review',
      start_time: startTime,
      end_time: input.end_time ?? null,
      budget_micros: input.budget.lifetime_spend_limit_micros,
      recurring_frequency: input.recurring_frequency ?? 'monthly',
      pricing_model: input.pricing_model ?? 'cpm',
      countries,
      created_at: now,
      updated_at: now,
      traffic: undefined,
      org: org.index,
      autoReview: undefined,
      spentMicros: 0,
      adGroupIds: [],
    };
    this.campaigns.set(campaign.id, campaign);
    org.campaigns.set(campaign.id, campaign);
    org.structureChanged();
    for (const group of input.ad_groups) this.insertAdGroup(campaign, group, now);
    if (org.billing.declines) {
      org.charges.push({ campaign_id: campaign.id, amount_micros: this.behaviour.deposit_micros, at: now, outcome: 'declined' });
      this.removeCampaign(org, campaign);
      throw new ApiError(402, 'payment_error', 'card_declined', 'The deposit charge to your default card was declined; the campaign was not created.', null);
    }
    org.charges.push({ campaign_id: campaign.id, amount_micros: this.behaviour.deposit_micros, at: now, outcome: 'charged' });
    this.touch(org);
    const response = this.campaignView(campaign);
    if (idempotencyKey !== undefined) org.idempotency.set(idempotencyKey, { bodyHash, response });
    return { status: 201, body: response };
  }

  private removeCampaign(org: Organization, campaign: CampaignRec): void {
    for (const groupId of campaign.adGroupIds) {
      const group = this.adGroups.get(groupId) as AdGroupRec;
      for (const adId of group.adIds) this.ads.delete(adId);
      this.adGroups.delete(groupId);
    }
    this.campaigns.delete(campaign.id);
    org.campaigns.delete(campaign.id);
    org.structureChanged();
  }

  private insertAdGroup(campaign: CampaignRec, input: AdGroupCreate, now: number): AdGroupRec {
    const group: AdGroupRec = {
      id: this.newId(),
      campaign_id: campaign.id,
      name: input.name,
      status: 'active',
      context_hints: input.context_hints ?? [],
      max_bid_micros: input.bidding_config?.max_bid_micros ?? null,
      created_at: now,
      updated_at: now,
      creativeType: input.ads[0]?.creative.type ?? 'chat_card',
      adIds: [],
      org: campaign.org,
    };
    this.adGroups.set(group.id, group);
    campaign.adGroupIds.push(group.id);
    this.ownerOf(campaign).structureChanged();
    for (const ad of input.ads) this.insertAd(group, ad, now);
    return group;
  }

  private insertAd(group: AdGroupRec, input: AdCreate, now: number): AdRec {
    const ad: AdRec = {
      id: this.newId(),
      ad_group_id: group.id,
      name: input.name ?? defaultAdName(input.creative),
      status: 'active',
      creative: { ...input.creative, ...(input.auto_generate ? { auto_generate: true } : {}) },
      created_at: now,
      updated_at: now,
      traffic: undefined,
      delivery: new AdDelivery(),
      org: group.org,
    };
    this.ads.set(ad.id, ad);
    group.adIds.push(ad.id);
    this.ownerOf(group).structureChanged();
    return ad;
  }

  updateCampaign(id: string, body: unknown, org?: Organization): Record<string, unknown> {
    if (body !== null && typeof body === 'object' && 'status' in body) {
      throw new ApiError(400, 'invalid_request_error', 'use_status_action', 'status cannot be set in an update; use /activate, /pause or /archive.', 'status');
    }
    const campaign = this.campaign(id, null, org);
    const owner = this.ownerOf(campaign);
    const input = parseBody(campaignUpdateSchema, body, this.behaviour);
    const start = input.start_time ?? campaign.start_time;
    const end = input.end_time === undefined ? campaign.end_time : input.end_time;
    if (end !== null && end <= start) throw invalidValue(input.end_time !== undefined ? 'end_time' : 'start_time', 'end_time must be after start_time.');
    const countries = input.targeting !== undefined ? normaliseCountries(input.targeting, this.behaviour.accept_string_locations) : undefined;
    this.sync(owner);
    if (input.name !== undefined) campaign.name = input.name;
    if (input.description !== undefined) campaign.description = input.description;
    campaign.start_time = start;
    campaign.end_time = end;
    if (input.budget) campaign.budget_micros = input.budget.lifetime_spend_limit_micros;
    if (input.recurring_frequency) campaign.recurring_frequency = input.recurring_frequency;
    if (input.pricing_model) campaign.pricing_model = input.pricing_model;
    if (countries) campaign.countries = countries;
    if (this.behaviour.update_resets_review) campaign.review_status = 'in_review';
    campaign.updated_at = this.nowSeconds();
    this.touch(owner);
    return this.campaignView(campaign);
  }

  /** The campaign status machine of §3.3 and §3.6. */
  campaignAction(id: string, action: Action, org?: Organization): Record<string, unknown> {
    const campaign = this.campaign(id, null, org);
    const owner = this.ownerOf(campaign);
    this.sync(owner);
    const b = this.behaviour;
    const refuse = (code: string, message: string): never => {
      throw new ApiError(400, 'invalid_request_error', code, message, null);
    };
    switch (action) {
      case 'activate':
        if (campaign.status === 'archived') refuse(b.campaign_archived_code, 'An archived campaign cannot be activated.');
        if (campaign.review_status === 'in_review') refuse('campaign_not_approved', 'The campaign is still in review; it can be activated once approved.');
        if (campaign.review_status === 'rejected') refuse(b.campaign_rejected_activate_code, 'The campaign was rejected in review and cannot be activated.');
        if (campaign.status === 'active') {
          if (b.campaign_activate_when_active === 'error') refuse('campaign_already_active', 'The campaign is already active.');
          return this.campaignView(campaign);
        }
        break;
      case 'pause':
        if (campaign.status === 'archived' && b.campaign_archived_code !== 'campaign_not_running') refuse(b.campaign_archived_code, 'An archived campaign cannot be paused.');
        if (campaign.status !== 'active') refuse('campaign_not_running', 'The campaign is not running.');
        break;
      case 'archive':
        if (campaign.status === 'archived') {
          if (b.campaign_archive_when_archived === 'error') refuse('campaign_already_archived', 'The campaign is already archived.');
          return this.campaignView(campaign);
        }
        break;
    }
    campaign.status = TARGET_STATUS[action];
    campaign.updated_at = this.nowSeconds();
    this.touch(owner);
    return this.campaignView(campaign);
  }

  // ---- ad groups and ads -----------------------------------------------------------------------

  createAdGroup(body: unknown, org?: Organization): Record<string, unknown> {
    const input = parseBody(adGroupStandaloneCreateSchema, body, this.behaviour);
    const campaign = this.campaign(input.campaign_id, 'campaign_id', org);
    const owner = this.ownerOf(campaign);
    if (campaign.status === 'archived') throw invalidValue('campaign_id', 'Ad groups cannot be added to an archived campaign.');
    checkAdGroupCreatives(input, '');
    this.sync(owner);
    const group = this.insertAdGroup(campaign, input, this.nowSeconds());
    this.touch(owner);
    return this.adGroupView(group);
  }

  updateAdGroup(id: string, body: unknown, org?: Organization): Record<string, unknown> {
    const group = this.adGroup(id, null, org);
    const owner = this.ownerOf(group);
    const input = parseBody(adGroupUpdateSchema, body, this.behaviour);
    this.sync(owner);
    if (input.name !== undefined) group.name = input.name;
    if (input.context_hints !== undefined) group.context_hints = input.context_hints;
    if (input.bidding_config !== undefined) group.max_bid_micros = input.bidding_config.max_bid_micros;
    if (input.status !== undefined) group.status = input.status === 'active' ? 'active' : 'paused';
    group.updated_at = this.nowSeconds();
    this.touch(owner);
    return this.adGroupView(group);
  }

  adGroupAction(id: string, action: Action, org?: Organization): Record<string, unknown> {
    const group = this.adGroup(id, null, org);
    const owner = this.ownerOf(group);
    this.sync(owner);
    const next = action === 'activate' ? 'active' : 'paused';
    // Archiving is a write of its own (the ad group is retired; it reads back as paused): it moves
    // updated_at even when the status reads back unchanged. A pause of a paused ad group changes nothing.
    if (group.status === next && action !== 'archive') {
      if (this.behaviour.child_same_state === 'error') throw new ApiError(400, 'invalid_request_error', `already_${next}`, `The ad group is already ${next}.`, null);
      return this.adGroupView(group);
    }
    group.status = next;
    group.updated_at = this.nowSeconds();
    this.touch(owner);
    return this.adGroupView(group);
  }

  createAd(body: unknown, org?: Organization): Record<string, unknown> {
    const input = parseBody(adStandaloneCreateSchema, body, this.behaviour);
    const group = this.adGroup(input.ad_group_id, 'ad_group_id', org);
    const owner = this.ownerOf(group);
    if (input.creative.type !== group.creativeType) {
      throw invalidValue('creative.type', `This ad group holds ${group.creativeType} ads; creative.type must be "${group.creativeType}".`);
    }
    checkAdCreative(input, '');
    this.sync(owner);
    const ad = this.insertAd(group, input, this.nowSeconds());
    this.touch(owner);
    return this.adView(ad);
  }

  updateAd(id: string, body: unknown, org?: Organization): Record<string, unknown> {
    const ad = this.ad(id, null, org);
    const owner = this.ownerOf(ad);
    const input = parseBody(adUpdateSchema, body, this.behaviour);
    const group = this.adGroups.get(ad.ad_group_id) as AdGroupRec;
    if (input.creative !== undefined) {
      if (input.creative.type !== group.creativeType) throw invalidValue('creative.type', `This ad group holds ${group.creativeType} ads.`);
      checkAdCreative({ creative: input.creative, auto_generate: ad.creative.auto_generate === true }, '');
    }
    this.sync(owner);
    if (input.name !== undefined) ad.name = input.name;
    if (input.status !== undefined) ad.status = input.status === 'active' ? 'active' : 'paused';
    if (input.creative !== undefined) ad.creative = { ...input.creative };
    ad.updated_at = this.nowSeconds();
    this.touch(owner);
    return this.adView(ad);
  }

  adAction(id: string, action: Action, org?: Organization): Record<string, unknown> {
    const ad = this.ad(id, null, org);
    const owner = this.ownerOf(ad);
    this.sync(owner);
    const next = action === 'activate' ? 'active' : 'paused';
    // Archiving is a write of its own (the ad is retired; it reads back as paused): it moves
    // updated_at even when the status reads back unchanged. A pause of a paused ad changes nothing.
    if (ad.status === next && action !== 'archive') {
      if (this.behaviour.child_same_state === 'error') throw new ApiError(400, 'invalid_request_error', `already_${next}`, `The ad is already ${next}.`, null);
      return this.adView(ad);
    }
    ad.status = next;
    ad.updated_at = this.nowSeconds();
    this.touch(owner);
    return this.adView(ad);
  }

  // ---- uploads -------------------------------------------------------------------------------

  storeFile(mimetype: string, extension: string, bytes: Uint8Array, org: Organization = this.primary): string {
    const now = this.nowSeconds();
    const date = new Date(now * 1000);
    this.fileCounter += 1;
    const hex = createHash('sha256').update(bytes).update(`|${this.seed}|${this.fileCounter}`).digest('hex').slice(0, 32);
    const fileId = `uploads/${date.getUTCFullYear()}/${String(date.getUTCMonth() + 1).padStart(2, '0')}/${hex}.${extension}`;
    this.files.set(fileId, { file_id: fileId, bytes: bytes.byteLength, mimetype, created_at: now });
    org.fileIds.push(fileId);
    this.mutations += 1;
    return fileId;
  }

  // ---- control -------------------------------------------------------------------------------

  setReview(id: string, verdict: ReviewStatus, at = this.nowSeconds()): Record<string, unknown> {
    const campaign = this.campaign(id);
    campaign.review_status = verdict;
    campaign.updated_at = at;
    this.changed(this.ownerOf(campaign));
    return this.campaignView(campaign);
  }

  /** A change an insights answer of `org` can see. */
  private changed(org: Organization): void {
    this.dataVersion += 1;
    org.dataVersion += 1;
  }

  /** A change made by a /v1 request. */
  private touch(org: Organization): void {
    this.mutations += 1;
    this.changed(org);
  }

  /**
   * Everything, for tests and for the curious (`GET /_sandbox/state`). Keys appear as
   * fingerprints. One organization (`org`, or the only one): its account, keys, campaigns with
   * delivered totals, files and charges. Several, without `org`: one summary per organization
   * (ask for one organization to see its entities).
   */
  snapshot(org?: Organization): Record<string, unknown> {
    this.sync(org);
    const world = { now: this.nowSeconds(), clock_speed: this.clock.speed, seed: this.seed };
    if (org === undefined && this.orgs.length > 1) {
      return { ...world, behaviour: { ...this.behaviour }, organizations: this.orgs.map((o) => this.organizationSummary(o)) };
    }
    const one = org ?? this.primary;
    return {
      ...world,
      account: { ...one.account, timezone: 'UTC', currency_code: 'USD' },
      billing: { ...one.billing },
      behaviour: { ...this.behaviour },
      api_keys: one.keys.map((k) => ({ fingerprint: k.fingerprint, expires_at: k.expiresAt })),
      campaigns: [...one.campaigns.values()].map((c) => ({
        ...this.campaignView(c),
        spent_micros: c.spentMicros,
        ad_groups: c.adGroupIds.map((gid) => {
          const g = this.adGroups.get(gid) as AdGroupRec;
          return {
            ...this.adGroupView(g),
            ads: g.adIds.map((aid) => {
              const a = this.ads.get(aid) as AdRec;
              return { ...this.adView(a), delivered: totalsOf(a.delivery.spans) };
            }),
          };
        }),
      })),
      files: one.fileIds.map((id) => this.files.get(id) as FileRec),
      charges: [...one.charges],
    };
  }

  private organizationSummary(org: Organization): Record<string, unknown> {
    let spent = 0;
    for (const c of org.campaigns.values()) spent += c.spentMicros;
    return {
      index: org.index,
      account: { ...org.account, timezone: 'UTC', currency_code: 'USD' },
      billing: { ...org.billing },
      api_keys: org.keys.map((k) => ({ fingerprint: k.fingerprint, expires_at: k.expiresAt })),
      campaigns: org.campaigns.size,
      spent_micros: spent,
      files: org.fileIds.length,
      charges: org.charges.length,
    };
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function totalsOf(spans: readonly Span[]): { impressions: number; clicks: number; spend_micros: number } {
  let impressions = 0;
  let clicks = 0;
  let spend = 0;
  for (const s of spans) {
    impressions += s.impressions;
    clicks += s.clicks;
    spend += s.spendMicros;
  }
  return { impressions, clicks, spend_micros: spend };
}

function parseHour(hour: string): number {
  const normalised = hour.replace(/(\+00:00|Z)?$/, '');
  const full = normalised.length === 13 ? `${normalised}:00:00` : normalised.length === 16 ? `${normalised}:00` : normalised;
  return Date.parse(`${full}Z`) / 1000;
}

function defaultAdName(creative: { type: string; title?: string; question?: string }): string {
  return creative.title ?? creative.question ?? 'Untitled ad';
}

/** Locations → uppercase ISO country codes (§8.3); a location with neither field is a 400. */
export function normaliseCountries(targeting: TargetingInput | undefined, acceptStrings: boolean): string[] {
  const include = targeting?.locations?.include ?? [];
  const out: string[] = [];
  include.forEach((entry, i) => {
    let code: string | undefined;
    if (typeof entry === 'string') {
      if (!acceptStrings) throw invalidValue('targeting.locations.include', `Each location must be an object with country_code or id (entry ${i} is a string).`);
      code = entry;
    } else {
      code = entry.country_code ?? entry.id;
    }
    if (code === undefined || code.trim() === '') {
      throw invalidValue('targeting.locations.include', 'Each location needs a country_code (or id).');
    }
    const upper = code.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(upper)) throw invalidValue('targeting.locations.include', `"${code}" is not an ISO 3166-1 alpha-2 country code.`);
    if (!out.includes(upper)) out.push(upper);
  });
  return out;
}

function checkAdGroupCreatives(group: AdGroupCreate, prefix: string): void {
  const first = group.ads[0]?.creative.type;
  group.ads.forEach((ad, a) => {
    const path = `${prefix ? `${prefix}.` : ''}ads[${a}]`;
    if (ad.creative.type !== first) {
      throw invalidValue(`${path}.creative.type`, `All ads in an ad group share one creative type (this group holds ${first}).`);
    }
    checkAdCreative(ad, path);
  });
}

function checkAdCreative(ad: { auto_generate?: boolean; creative: CreativeInput }, path: string): void {
  const p = (field: string): string => (path ? `${path}.${field}` : field);
  if (ad.creative.type === 'poll') {
    if (ad.auto_generate) throw invalidValue(p('auto_generate'), 'auto_generate is only available for chat_card creatives.', 'poll_cannot_be_ai');
    return;
  }
  if (!ad.auto_generate) {
    if (ad.creative.title === undefined) throw invalidValue(p('creative.title'), 'Missing required parameter: creative.title (or set auto_generate).', 'missing_required_parameter');
    if (ad.creative.body === undefined) throw invalidValue(p('creative.body'), 'Missing required parameter: creative.body (or set auto_generate).', 'missing_required_parameter');
  }
}

function paginate<R extends { id: string; created_at: number }>(items: R[], params: ListParams, view: (item: R) => Record<string, unknown>): ListEnvelope<Record<string, unknown>> {
  const sorted = [...items].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (params.order === 'desc') sorted.reverse();
  let startIndex = 0;
  let endIndex = sorted.length;
  if (params.after !== undefined) {
    const i = sorted.findIndex((item) => item.id === params.after);
    if (i < 0) throw invalidValue('after', `No such cursor: '${params.after}'.`);
    startIndex = i + 1;
  }
  let page: R[];
  let hasMore: boolean;
  if (params.before !== undefined) {
    const i = sorted.findIndex((item) => item.id === params.before);
    if (i < 0) throw invalidValue('before', `No such cursor: '${params.before}'.`);
    endIndex = i;
    const from = Math.max(0, endIndex - params.limit);
    page = sorted.slice(from, endIndex);
    hasMore = from > 0;
  } else {
    page = sorted.slice(startIndex, startIndex + params.limit);
    hasMore = startIndex + params.limit < sorted.length;
  }
  return {
    object: 'list',
    data: page.map(view),
    count: page.length,
    first_id: page[0]?.id ?? null,
    last_id: page[page.length - 1]?.id ?? null,
    has_more: hasMore,
  };
}

/** JSON with sorted keys, so equal bodies hash equal whatever their key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
