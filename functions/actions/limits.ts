// The engine-wide safety limit of one money change: no single budget or bid change moves the value
// by more than this share of its current value, whatever a rule asks (a typo of 500 for 50, an
// agent's proposal). Configured once per deployment: env THRAD_RULES_MAX_CHANGE_PERCENT locally and
// on Lambda (the CDK context `maxChangePercent` sets it), default 50. The record says when it clipped.

export const MAX_CHANGE_PERCENT_ENV = 'THRAD_RULES_MAX_CHANGE_PERCENT';
export const DEFAULT_MAX_CHANGE_PERCENT = 50;
/** Bounds of the setting: at least 1%, at most 1000% (a ten-fold increase). */
export const MAX_CHANGE_PERCENT_RANGE = { min: 1, max: 1000 } as const;

/** The limit as a fraction (0.5 for 50%), or an error message naming the setting and the value. */
export function maxChangeFractionFrom(raw: string | undefined, source: string = MAX_CHANGE_PERCENT_ENV): { fraction: number } | { error: string } {
  if (raw === undefined || raw.trim() === '') return { fraction: DEFAULT_MAX_CHANGE_PERCENT / 100 };
  const percent = Number(raw.trim());
  if (!Number.isFinite(percent) || percent < MAX_CHANGE_PERCENT_RANGE.min || percent > MAX_CHANGE_PERCENT_RANGE.max) {
    return { error: `${source} must be a percentage from ${MAX_CHANGE_PERCENT_RANGE.min} to ${MAX_CHANGE_PERCENT_RANGE.max} (the largest share of the current value one budget or bid change may move; default ${DEFAULT_MAX_CHANGE_PERCENT}), got "${raw}"` };
  }
  return { fraction: percent / 100 };
}
