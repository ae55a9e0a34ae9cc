// One organization of the sandbox's world: its keys, ad account, billing, campaigns, charges,
// uploads and Idempotency-Key replays, and how far its delivery has been generated. The world
// holds every organization's entities in global maps (ids are unique across the world, as the
// API's are); an organization indexes its own, so a request costs O(its organization), never
// O(all organizations).
import type { Totals } from './delivery';
import type { TrafficModel } from './fixture';
import type { AdGroupRec, AdRec, ApiKeyRec, CampaignRec } from './world';

export interface Charge {
  campaign_id: string;
  amount_micros: number;
  at: number;
  outcome: 'charged' | 'declined';
}

/** An ad whose traffic model generates delivery as the clock moves, with its parents. */
export interface ModeledAd {
  ad: AdRec;
  group: AdGroupRec;
  model: TrafficModel;
  /** The whole-hour targets of the hour last accrued, per supply (fixed by seed, ad and hour). */
  targets?: { hourStart: number; bySupply: readonly Totals[] };
}

export interface ModeledCampaign {
  campaign: CampaignRec;
  ads: ModeledAd[];
}

export class Organization {
  account: { id: string; name: string; url: string; preview_url?: string };
  billing: { card_configured: boolean; declines: boolean };
  /** In the order they were given or minted; the one with `expiresAt: null` is active. */
  readonly keys: ApiKeyRec[] = [];
  /** This organization's campaigns (also in the world's global map). */
  readonly campaigns = new Map<string, CampaignRec>();
  readonly charges: Charge[] = [];
  /** The file ids this organization uploaded (the files themselves are in the world's map). */
  readonly fileIds: string[] = [];
  /** Replays for POST /campaigns: Idempotency-Key → body hash and the stored 201 response. */
  readonly idempotency = new Map<string, { bodyHash: string; response: unknown }>();
  /** Bumped on every change that can alter this organization's insights answers (cache key). */
  dataVersion = 0;
  /** Bumped when an entity is added or removed: the set of rows an insights query can answer with. */
  structureVersion = 0;
  /** Sandbox time (Unix seconds) up to which this organization's delivery is generated. */
  materializedUntil: number;
  /** Campaigns with at least one modelled ad; rebuilt after a structural change. */
  private modeledCache: ModeledCampaign[] | undefined;

  constructor(
    /** Position in the fixture's `organizations` (0 for a single-organization fixture). */
    readonly index: number,
    account: Organization['account'],
    billing: Organization['billing'],
    startSeconds: number,
  ) {
    this.account = { ...account };
    this.billing = { ...billing };
    this.materializedUntil = startSeconds;
  }

  /** The campaigns whose ads carry a traffic model, built by `build` once per structure. */
  modeled(build: () => ModeledCampaign[]): ModeledCampaign[] {
    this.modeledCache ??= build();
    return this.modeledCache;
  }

  /** An entity was added or removed: the modelled set may have changed. */
  structureChanged(): void {
    this.structureVersion += 1;
    this.modeledCache = undefined;
  }
}
