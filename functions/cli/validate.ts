// `thrad-rules validate [paths...]`: check rule files; one line per problem.
import { resolve } from 'node:path';
import { formatIssue } from '../rules/errors';
import { loadRules } from '../rules/validate';
import { RulesUnavailableError } from './errors';
import { EXIT, type Output } from './output';

export const VALIDATE_HELP = `Usage: thrad-rules validate [paths...] [--json]

Checks rule files (default: the rules/ folder). Prints one line per problem as
file:path: message, and exits 1 when any rule has an error; otherwise prints a
one-line summary and exits 0. Warnings are printed but do not fail.

Examples:
  npx thrad-rules validate
  npx thrad-rules validate rules/cpc-guard.json rules/team-b/
  npx thrad-rules validate --json | jq '.issues[] | select(.severity == "error")'`;

export function runValidate(paths: readonly string[], options: { json: boolean; cwd: string; defaultRulesDir: string }, io: Output): number {
  const targets = paths.length > 0 ? paths.map((p) => resolve(options.cwd, p)) : [options.defaultRulesDir];
  const result = loadRules(targets, options.cwd);
  const errors = result.issues.filter((i) => i.severity === 'error');
  const warnings = result.issues.filter((i) => i.severity === 'warning');
  if (options.json) {
    io.out(
      JSON.stringify(
        {
          valid: errors.length === 0,
          files: result.files.length,
          rules: result.rules.map((r) => ({ id: r.rule.id, file: r.file, version: r.version, level: r.rule.level, mode: r.rule.mode, enabled: r.rule.enabled })),
          issues: result.issues,
        },
        null,
        2,
      ),
    );
    return errors.length === 0 ? EXIT.ok : EXIT.failure;
  }
  for (const issue of result.issues) io.out(formatIssue(issue));
  if (result.files.length === 0 && errors.length === 0) throw new RulesUnavailableError({ rulesDir: targets.join(', '), problem: 'empty', chosenBy: paths.length > 0 ? undefined : 'the default' });
  const badFiles = new Set(errors.map((e) => e.file)).size;
  const fileCount = new Set([...result.files.map((f) => f), ...errors.map((e) => e.file)]).size;
  const warningText = warnings.length > 0 ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : '';
  if (errors.length === 0) {
    io.out(`✓ ${result.rules.length} rule${result.rules.length === 1 ? '' : 's'} in ${result.files.length} file${result.files.length === 1 ? '' : 's'} valid${warningText}`);
    return EXIT.ok;
  }
  io.err(`✗ ${errors.length} problem${errors.length === 1 ? '' : 's'} in ${badFiles} of ${Math.max(fileCount, badFiles)} file${fileCount === 1 ? '' : 's'}; ${result.rules.length} rule${result.rules.length === 1 ? '' : 's'} valid${warningText}`);
  return EXIT.failure;
}
