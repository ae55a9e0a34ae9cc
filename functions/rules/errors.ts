// Problems found in rule files. They are collected, never thrown: a bad rule file never stops the
// other rules (validate.ts).

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

/** A schedule expression that EventBridge Scheduler would not accept, and why. */
export class ScheduleSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleSyntaxError';
  }
}
