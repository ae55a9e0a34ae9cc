// Does this API offer what the reference documents for cutting reads? Metadata fields in insights
// (every ad with its status in one account-scope read, instead of one list call per parent) and
// `includes[]=zero_impression_items` (entities with no delivery still get a row). Both are
// unconfirmed for Thrad, so they are probed with one or two cheap requests (one insights page of
// a closed past hour) before anything relies on them. The engine decides what to do with the
// answer (and how long to cache it); this module only asks.
import type { CallOptions, InsightsRow, ThradClient } from './client';
import { AnswerMismatchError, InvalidRequestError } from './errors';
import type { InsightsMetadataField } from './wire';

export interface Capabilities {
  /** Insights rows carry the metadata fields asked for (statuses of the ad, its group and campaign). */
  metadata_fields: boolean;
  /** `includes[]=zero_impression_items` is accepted and adds rows with no impressions. */
  zero_impression_items: boolean;
  /** What was seen, in a sentence a person can act on. */
  detail: string;
}

export interface CapabilityProbeOptions extends CallOptions {
  /** The API's current time in Unix seconds (default: the client's clock). */
  nowSeconds?: number;
  /** Rows per probe page (default 20): enough to see a zero row, small enough to be cheap. */
  pageSize?: number;
}

/** The metadata a probe asks for on ad rows: what ad-group and ad rules need instead of list calls. */
export const PROBE_METADATA: readonly InsightsMetadataField[] = ['ad_status', 'ad_group_status', 'campaign_status', 'ad_review_status'];

const HOUR_SECONDS = 3_600;

interface Attempt {
  rows: InsightsRow[] | null;
  /** Why the attempt gave no rows: which feature the API refused or ignored, and how. */
  refused: { feature: 'metadata' | 'zero' | 'unknown'; how: string } | null;
}

/**
 * Probe the API (through `client`, so in its wire profile) for metadata fields and zero-impression
 * items. At most two requests: both features together, then the one not refused alone. Errors that
 * say nothing about capabilities (network, 5xx, authentication, budget) are thrown, so a caller
 * never caches "unsupported" because of an outage.
 */
export async function probeCapabilities(client: ThradClient, options: CapabilityProbeOptions = {}): Promise<Capabilities> {
  const profile = client.wireProfile;
  if (profile.insights.metadata === null && profile.insights.zeroImpressionItems === null) {
    return {
      metadata_fields: false,
      zero_impression_items: false,
      detail: `the ${profile.name} wire profile sends no metadata fields and no includes[] (the reference profile does)`,
    };
  }
  const nowSeconds = options.nowSeconds ?? Math.floor(client.clock.nowMs() / 1000);
  const end = Math.floor(nowSeconds / HOUR_SECONDS) * HOUR_SECONDS;
  const range = { startSeconds: end - HOUR_SECONDS, endSeconds: end };
  const canMeta = profile.insights.metadata !== null;
  const canZero = profile.insights.zeroImpressionItems !== null;
  const pageSize = options.pageSize ?? 20;

  const attempt = async (meta: boolean, zero: boolean): Promise<Attempt> => {
    const pages = client.insightsPages(
      {
        scope: { level: 'ad_account' },
        aggregationLevel: 'ad',
        timeGranularity: 'none',
        fields: ['impressions'],
        timeRanges: [range],
        metadata: meta ? PROBE_METADATA : undefined,
        includeZeroImpressionItems: zero,
        pageSize,
      },
      options,
    );
    try {
      const first = await pages.next();
      return { rows: first.done ? [] : first.value, refused: null };
    } catch (error) {
      if (error instanceof AnswerMismatchError && error.check === 'field') return { rows: null, refused: { feature: 'metadata', how: `ignored: ${error.mismatch}` } };
      if (error instanceof InvalidRequestError) {
        const how = `refused: ${error.httpStatus ?? ''} ${error.code}${error.param ? ` on ${error.param}` : ''}`.replace('  ', ' ');
        const param = error.param ?? '';
        const feature = param.startsWith('includes') ? 'zero' : param.startsWith('fields') || error.code === 'unknown_field' ? 'metadata' : 'unknown';
        return { rows: null, refused: { feature, how } };
      }
      throw error;
    } finally {
      await pages.return(undefined);
    }
  };

  const notes: string[] = [];
  let metadata = false;
  let zero = false;
  const judge = (rows: InsightsRow[], askedMeta: boolean, askedZero: boolean): void => {
    if (askedMeta) {
      metadata = rows.length > 0;
      notes.push(rows.length > 0 ? `metadata fields (${PROBE_METADATA.join(', ')}) came back on ${rows.length} ad rows` : 'metadata fields accepted, but no row came back to show them');
    }
    if (askedZero) {
      const zeroRows = rows.filter((r) => r.impressions === 0).length;
      zero = zeroRows > 0;
      notes.push(zeroRows > 0 ? `includes[]=zero_impression_items added ${zeroRows} rows with no impressions` : 'includes[]=zero_impression_items accepted, but no row without impressions came back (unconfirmed)');
    }
  };

  const both = await attempt(canMeta, canZero);
  if (both.rows) {
    judge(both.rows, canMeta, canZero);
  } else if (both.refused) {
    const { feature, how } = both.refused;
    if (feature === 'unknown' || !(canMeta && canZero)) {
      notes.push(`the probe was ${how}`);
    } else {
      notes.push(`${feature === 'metadata' ? 'metadata fields' : 'includes[]=zero_impression_items'} ${how}`);
      // One more request for the feature that was not the problem.
      const other = await attempt(feature === 'zero', feature === 'metadata');
      if (other.rows) judge(other.rows, feature === 'zero', feature === 'metadata');
      else if (other.refused) notes.push(`${feature === 'zero' ? 'metadata fields' : 'includes[]=zero_impression_items'} ${other.refused.how}`);
    }
  }
  if (!canMeta) notes.push(`the ${profile.name} wire profile has no metadata fields`);
  if (!canZero) notes.push(`the ${profile.name} wire profile has no includes[]`);
  return { metadata_fields: metadata, zero_impression_items: zero, detail: notes.join('; ') };
}
