// Key hygiene: the API key is only ever referred to by a fingerprint, and any text that might
// leave the process (log lines, error messages, audit records) can be scrubbed of a known key.
import { createHash } from 'node:crypto';

/** A short, stable, non-reversible name for an API key: safe to log and record. */
export const keyFingerprint = (key: string): string =>
  `key_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

/** Matches anything shaped like a Thrad secret key (`ak_` + token characters). */
const KEY_SHAPE = /ak_[A-Za-z0-9_-]{4,}/g;

/** Replace every key-shaped token in `text` with a fingerprint. */
export const redactKeys = (text: string): string =>
  text.replace(KEY_SHAPE, (match) => `[redacted ${keyFingerprint(match)}]`);
