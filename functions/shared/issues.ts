// zod issues in words, and the value an issue points at: for error messages that name the path
// and what was found there (API responses, audit items, scheduler events, rule files, requests).
import type * as z from 'zod';

/** `path.to.field: message`, for at most `max` issues (an issue at the root is named `root`). */
export function describeIssues(issues: readonly z.core.$ZodIssue[], options: { max?: number; root?: string } = {}): string[] {
  return issues.slice(0, options.max ?? 10).map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : (options.root ?? '(root)')}: ${issue.message}`);
}

/** The value at a (zod issue) path inside `root`; undefined where the path leads nowhere. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
