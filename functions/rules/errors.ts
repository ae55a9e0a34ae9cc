// Problems found in rule files, and the error a caller gets when it asked for a rule set
// without problems.

export type IssueSeverity = 'error' | 'warning';

export interface RuleIssue {
  severity: IssueSeverity;
  /** Stable machine code, e.g. `unknown_key`, `fraction_as_percent`, `duplicate_id`. */
  code: string;
  file: string;
  /** The rule's id when it is known. */
  ruleId: string | null;
  /** JSON path inside the file, e.g. `when.all[1].value` or `[2].schedule.expression`. */
  path: string;
  /** What was expected and what was found. */
  message: string;
}

/** One line per issue: `file:path: message`. */
export function formatIssue(issue: RuleIssue): string {
  const rule = issue.ruleId ? ` (rule ${issue.ruleId})` : '';
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  return `${issue.file}:${issue.path || '(root)'}: ${prefix}${issue.message}${rule}`;
}

export class RuleSetInvalidError extends Error {
  constructor(readonly issues: readonly RuleIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(`${errors.length} problem${errors.length === 1 ? '' : 's'} in the rules:\n${errors.map(formatIssue).join('\n')}`);
    this.name = 'RuleSetInvalidError';
  }
}

/** A rule id that no loaded rule has (e.g. asking the engine to run an unknown rule). */
export class UnknownRuleError extends Error {
  constructor(readonly ruleIds: readonly string[]) {
    super(`Unknown rule id${ruleIds.length === 1 ? '' : 's'}: ${ruleIds.join(', ')}`);
    this.name = 'UnknownRuleError';
  }
}
