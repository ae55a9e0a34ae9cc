// The CLI's own errors, and the one place where any error becomes what a person reads: a line
// saying what happened, a line saying what to do, and the exit code of the README's table. Other
// modules throw typed errors with fields (functions/thrad, audit, local); only this file turns
// them into words for the terminal. Stack traces are printed only when asked for (--debug or
// THRAD_RULES_DEBUG=1); nothing printed here ever contains the API key.
import { OrgRegistryError, OrgsFileError, UnknownOrgError } from '../orgs/errors';
import { ORG_ID_ENV, ORG_KEY_ENV_ENV } from '../orgs/select';
import { SimulationInputError, SimulationInterruptedError } from '../sim/errors';
import { FixtureError } from '../../sandbox/fixture';
import { AuditStoreError, AuditTableMissingError } from '../audit/errors';
import type { DecisionRecord, RunSummary } from '../audit/records';
import { ENV } from '../local/config';
import { ConfigError, EnvironmentError } from '../local/errors';
import { localStamp, machineTimeZone } from '../local/format';
import { redactKeys } from '../shared/secrets';
import { DEFAULT_BASE_URL } from '../thrad/client';
import { ApiKeyUnavailableError, AuthenticationError, DeadlineExceededError, NetworkError, RateLimitError, RequestBudgetExceededError, ThradApiError } from '../thrad/errors';
import { API_KEY_ENV, API_KEY_SECRET_ENV, apiKeySourceFromEnv } from '../thrad/keys';
import { EXIT, type Output } from './output';

/** The line every error the CLI does not know ends with. */
export const DEBUG_HINT = 'run again with THRAD_RULES_DEBUG=1 for details';

// ---- the CLI's errors ----------------------------------------------------------------------------

/** Wrong flags or arguments (exit 2). `hint` says what to type instead. */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** A flag whose value is out of its range or format: names the flag, what it accepts, and an example. */
export class FlagValueError extends UsageError {
  readonly flag: string;
  readonly found: string;
  /** What the flag accepts, e.g. `a whole number from 1 to 10000 (how many records to show)`. */
  readonly expected: string;
  /** A value that works, as typed: `--limit 500`. */
  readonly example: string;
  constructor(details: { flag: string; found: string; expected: string; example: string; hint?: string }) {
    super(`${details.flag} ${shown(details.found)}: expected ${details.expected}`, details.hint);
    this.name = 'FlagValueError';
    this.flag = details.flag;
    this.found = details.found;
    this.expected = details.expected;
    this.example = details.example;
  }
}

export type RulesProblem = 'missing' | 'empty' | 'invalid';

/** The rules folder gives a command nothing to run: no folder, no rule files in it, or no valid rule. */
export class RulesUnavailableError extends Error {
  readonly rulesDir: string;
  readonly problem: RulesProblem;
  /** How the folder was chosen: `--rules`, `THRAD_RULES_DIR` or `the default` (none when named on the command line). */
  readonly chosenBy: string | undefined;
  /** Errors in the rule files (printed above, one line each), for `invalid`. */
  readonly errors: number;
  constructor(details: { rulesDir: string; problem: RulesProblem; chosenBy?: string; errors?: number }) {
    super(`${details.problem === 'missing' ? 'No rules folder at' : details.problem === 'empty' ? 'No rule files in' : 'No valid rules in'} ${details.rulesDir}`);
    this.name = 'RulesUnavailableError';
    this.rulesDir = details.rulesDir;
    this.problem = details.problem;
    this.chosenBy = details.chosenBy;
    this.errors = details.errors ?? 0;
  }
}

// ---- what the error was about --------------------------------------------------------------------

export interface Situation {
  /** The command's environment: where the key, the API and the store were configured. */
  env: NodeJS.ProcessEnv;
  /** The command that failed (`audit`), when known. */
  command?: string;
}

export interface Explanation {
  /** One or two lines: what happened, and what to do. */
  lines: string[];
  exit: number;
}

const nonEmpty = (value: string | undefined): string | undefined => (value !== undefined && value.trim() !== '' ? value.trim() : undefined);

function shown(value: string): string {
  return value === '' || /\s/.test(value) ? JSON.stringify(value) : value;
}

/** Which API the command talked to, as configured (the same rules as functions/local/config). */
function apiOf(env: NodeJS.ProcessEnv): { sandbox: boolean; url: string; urlSet: boolean; where: string } {
  const sandbox = nonEmpty(env[ENV.apiKey]) === undefined && nonEmpty(env[ENV.apiKeySecret]) === undefined;
  const set = nonEmpty(env[ENV.apiBaseUrl]);
  const url = set ?? DEFAULT_BASE_URL;
  return { sandbox, url, urlSet: set !== undefined, where: sandbox ? 'the bundled Thrad sandbox' : `the Thrad API at ${url}` };
}

const capital = (text: string): string => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

/** Where the key came from and how to replace it. Never the key. */
function keyOrigin(env: NodeJS.ProcessEnv): { from: string; fix: string } {
  const source = apiOf(env).sandbox ? undefined : apiKeySourceFromEnv(env);
  if (source?.variable === API_KEY_SECRET_ENV) {
    return {
      from: `the Secrets Manager secret ${source.secretId} (named by ${API_KEY_SECRET_ENV})`,
      fix: `Put the current key in the secret ${source.secretId} (aws secretsmanager put-secret-value --secret-id ${source.secretId} --secret-string '{"api_key":"ak_..."}')`,
    };
  }
  const orgKeyVar = nonEmpty(env[ORG_KEY_ENV_ENV]);
  if (source?.variable === API_KEY_ENV && orgKeyVar !== undefined) {
    const org = nonEmpty(env[ORG_ID_ENV]) ?? '?';
    return { from: `the environment variable ${orgKeyVar} (organization ${org})`, fix: `Put organization ${org}'s current key in ${orgKeyVar} (Thrad Platform → Settings → API keys; a new key is shown once)` };
  }
  if (source?.variable === API_KEY_ENV) {
    return { from: `the environment variable ${API_KEY_ENV}`, fix: `Put the current key in ${API_KEY_ENV} (Thrad Platform → Settings → API keys; a new key is shown once)` };
  }
  return { from: "the bundled sandbox's demo key", fix: 'Restart the autopilot (npm start): it starts a fresh sandbox with its key' };
}

/** The cause chain, outermost first (at most a few levels). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current: unknown = error; current !== undefined && chain.length < 6; current = current instanceof Error ? current.cause : undefined) chain.push(current);
  return chain;
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').trim().replace(/\.$/, '');
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

function networkCodeIn(error: unknown): string | undefined {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (nameOf(e) === 'TimeoutError') return 'timeout';
  }
  return undefined;
}

const credentialsMissing = (error: unknown): boolean => causes(error).some((e) => nameOf(e) === 'CredentialsProviderError' || (error instanceof AuditStoreError && error.awsCode === 'CredentialsProviderError'));
const regionMissing = (error: unknown): boolean => causes(error).some((e) => /region is missing/i.test(messageOf(e)));

const AWS_CREDENTIALS_FIX = 'Configure AWS credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)';

// ---- the Thrad API -------------------------------------------------------------------------------

/** What went wrong between the CLI and the Thrad API, whether thrown (typed) or recorded (a code). */
type ApiProblem = 'invalid_key' | 'no_credentials' | 'unreachable' | 'rate_limited' | 'budget' | 'deadline';

const PROBLEM_BY_CODE: Readonly<Record<string, ApiProblem>> = {
  invalid_api_key: 'invalid_key',
  auth_required: 'no_credentials',
  connection_failed: 'unreachable',
  connection_reset: 'unreachable',
  timeout: 'unreachable',
  rate_limit_exceeded: 'rate_limited',
  http_429: 'rate_limited',
  request_budget_exceeded: 'budget',
  deadline_exceeded: 'deadline',
};

function problemOf(error: ThradApiError): ApiProblem | undefined {
  if (error instanceof NetworkError) return 'unreachable';
  if (error instanceof RateLimitError) return 'rate_limited';
  if (error instanceof RequestBudgetExceededError) return 'budget';
  if (error instanceof DeadlineExceededError) return 'deadline';
  return PROBLEM_BY_CODE[error.code];
}

interface ProblemDetails {
  code: string;
  /** `GET /ad_account`, when one call failed. */
  operation?: string;
  /** What the failure said, without the `Thrad API` prefix. */
  detail: string;
  retryAfterSeconds?: number | null;
  budget?: { used: number; limit: number; needed: number; availableAtMs: number };
  /** For a run: what the failure cost it (`2 rules had no data and did nothing`). */
  cost?: string;
}

function waitText(seconds: number): string {
  return seconds < 90 ? `${Math.max(1, Math.round(seconds))} s` : `about ${Math.round(seconds / 60)} minutes`;
}

function apiProblemLines(problem: ApiProblem, details: ProblemDetails, situation: Situation): string[] {
  const api = apiOf(situation.env);
  const cost = details.cost ? `; ${details.cost}` : '';
  switch (problem) {
    case 'invalid_key': {
      const key = keyOrigin(situation.env);
      return [
        `${capital(api.where)} rejected the API key from ${key.from} (401 invalid_api_key): the key is wrong, revoked, or was rotated more than 30 minutes ago${cost}.`,
        `${key.fix}, then run again.`,
      ];
    }
    case 'no_credentials':
      return [
        `${capital(api.where)} received no API key (401 auth_required): the requests reached it without their Authorization header${cost}.`,
        `Something between here and the API drops the header (a proxy?): point THRAD_API_BASE_URL at the API itself (default ${DEFAULT_BASE_URL}), or run thrad-rules doctor to see what answers there.`,
      ];
    case 'unreachable':
      return [
        `Cannot reach ${api.where}: ${details.detail}${cost}.`,
        api.sandbox
          ? 'CLI commands use the running autopilot\'s sandbox: is npm start still running? Restart it, or set THRAD_ADS_API_KEY to use the real API.'
          : `Check THRAD_API_BASE_URL (${api.urlSet ? `set to ${api.url}` : `unset, so ${api.url}`}) and the network, or run thrad-rules doctor to probe the API.`,
      ];
    case 'rate_limited': {
      const wait = details.retryAfterSeconds ? waitText(details.retryAfterSeconds) : undefined;
      return [
        `${capital(api.where)} kept answering 429 ${details.code}${details.operation ? ` to ${details.operation}` : ''}, also after retries: this key's 1000 requests of the last hour are used${wait ? ` (it asks to wait ${wait})` : ''}${cost}.`,
        `Wait ${wait ?? 'a few minutes'} and run again; every process using this key counts. To need fewer requests, run rules less often or put them on fewer schedules (README: Rate-limit arithmetic).`,
      ];
    }
    case 'budget': {
      const b = details.budget;
      const fewer = 'to need fewer, run rules less often, put them on fewer schedules, or narrow ad group and ad rules with scope.campaign_ids';
      return b
        ? [
            `This key's request budget is spent: ${b.used} of ${b.limit} requests in the last hour are used (counted across every process using the key) and ${details.operation ?? 'the work'} needs ${b.needed} more (request_budget_exceeded); nothing was sent${cost}.`,
            `Run again after ${localStamp(new Date(b.availableAtMs).toISOString(), machineTimeZone(situation.env))}; ${fewer}.`,
          ]
        : [
            `This key's request budget is spent: the last hour's 1000 requests are used, counted across every process using the key (request_budget_exceeded)${cost}.`,
            `Nothing was sent for those; the next occurrence tries again once the hour frees up. ${capital(fewer)}.`,
          ];
    }
    case 'deadline':
      return details.cost
        ? [
            `The run was cut off by its deadline before it finished (deadline_exceeded)${cost}.`,
            'Nothing acted on partial data; the next occurrence tries again. If it keeps happening the API is slow (run thrad-rules doctor) or there is too much to read: narrow ad group and ad rules with scope.campaign_ids.',
          ]
        : [
            `${details.operation ?? 'A call to the Thrad API'} was cut off by the command's deadline before ${api.where} answered (deadline_exceeded).`,
            'Nothing more was sent. Run again; if it keeps happening, the API is slow or unreachable: run thrad-rules doctor.',
          ];
  }
}

function withoutPrefix(message: string): string {
  return messageOf(message).replace(/^Thrad API /, '');
}

function explainApiError(error: ThradApiError, situation: Situation): string[] {
  const problem = problemOf(error);
  if (problem) {
    return apiProblemLines(problem, {
      code: error.code,
      operation: error.operation,
      detail: withoutPrefix(error.message),
      retryAfterSeconds: error instanceof RateLimitError ? error.retryAfterSeconds : undefined,
      budget: error instanceof RequestBudgetExceededError ? { used: error.used, limit: error.limit, needed: error.needed, availableAtMs: error.availableAtMs } : undefined,
    }, situation);
  }
  const api = apiOf(situation.env);
  if (error instanceof AuthenticationError) {
    const key = keyOrigin(situation.env);
    return [`${capital(api.where)} refused the API key from ${key.from} (${error.httpStatus ?? 401} ${error.code}): ${withoutPrefix(error.message)}.`, `${key.fix}, or use a key of an owner or admin; then run again.`];
  }
  return [`${capital(api.where)} failed: ${withoutPrefix(error.message)}.`, 'Run again in a minute; if it keeps failing, run thrad-rules doctor to probe the API.'];
}

// ---- the audit store -----------------------------------------------------------------------------

function explainStoreError(error: AuditStoreError, situation: Situation): string[] {
  const table = nonEmpty(situation.env[ENV.tableName]);
  const endpoint = nonEmpty(situation.env[ENV.dynamoEndpoint]);
  const store = table ? `the DynamoDB table ${table} (AUDIT_TABLE_NAME)${endpoint ? ` at ${endpoint}` : ''}` : 'the audit store';
  const useEmbedded = 'or unset AUDIT_TABLE_NAME to use the embedded store under .thrad-rules/';
  if (error instanceof AuditTableMissingError) return [`${messageOf(error)}.`, `Check AUDIT_TABLE_NAME and the AWS region (AWS_REGION), ${useEmbedded}.`];
  if (credentialsMissing(error)) return [`No AWS credentials to use ${store}: ${messageOf(causes(error).at(-1))}.`, `${AWS_CREDENTIALS_FIX}, ${useEmbedded}.`];
  if (regionMissing(error)) return [`No AWS region for ${store}.`, `Set AWS_REGION to the table's region (e.g. us-east-1), ${useEmbedded}.`];
  const network = networkCodeIn(error);
  if (network) {
    return endpoint
      ? [`Cannot reach the audit store at ${endpoint} (DYNAMODB_ENDPOINT): ${network}.`, `Start that DynamoDB-compatible server or fix DYNAMODB_ENDPOINT, or unset DYNAMODB_ENDPOINT and AUDIT_TABLE_NAME to use the embedded store.`]
      : [`Cannot reach DynamoDB for ${store}: ${network}.`, `Check the network and AWS_REGION, ${useEmbedded}.`];
  }
  return [`${capital(store)} failed: ${messageOf(error)}.`, `Run again; if it keeps failing, ${DEBUG_HINT}.`];
}

// ---- everything else -----------------------------------------------------------------------------

function explainRules(error: RulesUnavailableError, situation: Situation): string[] {
  const command = situation.command ?? 'run';
  const point = command === 'validate' ? 'name the files or folders to check (npx thrad-rules validate my-rules/)' : 'point --rules (or THRAD_RULES_DIR) at your rules folder';
  const chosen = error.chosenBy ? ` (${error.chosenBy})` : '';
  switch (error.problem) {
    case 'missing':
      return [`No rules folder at ${error.rulesDir}${chosen}: nothing to ${command}.`, `Create it with a rule file (examples: the project's rules/; the format: npx thrad-rules schema), or ${point}.`];
    case 'empty':
      return [`No rule files (*.json) in ${error.rulesDir}${chosen}: nothing to ${command}.`, `Add a rule (examples: the project's rules/; the format: npx thrad-rules schema), or ${point}.`];
    case 'invalid':
      return [`No valid rules in ${error.rulesDir}${chosen}: nothing to ${command} (${error.errors} problem${error.errors === 1 ? '' : 's'} above).`, `Fix them (npx thrad-rules validate ${error.rulesDir}), or ${point}.`];
  }
}

function explainKeyUnavailable(error: ApiKeyUnavailableError, situation: Situation): string[] {
  const source = apiKeySourceFromEnv(situation.env);
  if (source?.variable === API_KEY_SECRET_ENV && credentialsMissing(error)) {
    return [`No AWS credentials to read the Secrets Manager secret ${source.secretId} (named by ${API_KEY_SECRET_ENV}).`, `${AWS_CREDENTIALS_FIX}, or set ${API_KEY_ENV} instead.`];
  }
  if (source?.variable === API_KEY_SECRET_ENV) return [`${messageOf(error)}.`, `Or set ${API_KEY_ENV} and unset ${API_KEY_SECRET_ENV} to use a key from the environment.`];
  return [`${messageOf(error)}.`, `Put your key (it starts with ak_; Thrad Platform → Settings → API keys) in ${API_KEY_ENV}, or unset ${API_KEY_ENV} and ${API_KEY_SECRET_ENV} to use the bundled sandbox.`];
}

/** A file the command had to read or write (e.g. report --out into a missing folder). */
function explainSystemError(error: NodeJS.ErrnoException & { path: string }): string[] {
  const what = error.code === 'ENOENT' ? 'no such file or folder' : error.code === 'EACCES' || error.code === 'EPERM' ? 'permission denied' : error.code === 'EISDIR' ? 'it is a folder' : (error.code ?? 'error');
  return [`Cannot ${error.syscall === 'open' || error.syscall === 'write' ? 'write to' : (error.syscall ?? 'use')} ${error.path}: ${what}.`, error.code === 'ENOENT' ? 'Create the folder first, or choose a path in an existing one.' : 'Choose another path, or fix its permissions.'];
}

const isSystemError = (error: unknown): error is NodeJS.ErrnoException & { path: string } =>
  error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).path === 'string';

/** Any error → one or two lines and the exit code. */
export function explainError(error: unknown, situation: Situation): Explanation {
  const help = `Run "thrad-rules ${situation.command ? `${situation.command} ` : ''}--help" for the options and examples.`;
  if (error instanceof FlagValueError) return { lines: [`${error.flag} ${shown(error.found)}: expected ${error.expected}, e.g. ${error.example}.`, error.hint ?? help], exit: EXIT.usage };
  if (error instanceof UsageError) return { lines: [error.message, error.hint ?? help], exit: EXIT.usage };
  if (error instanceof ConfigError) return { lines: [`Configuration: ${messageOf(error)}.`, 'Fix or unset that variable, then run again.'], exit: EXIT.usage };
  if (error instanceof RulesUnavailableError) return { lines: explainRules(error, situation), exit: EXIT.failure };
  if (error instanceof ThradApiError) return { lines: explainApiError(error, situation), exit: EXIT.failure };
  if (error instanceof ApiKeyUnavailableError) return { lines: explainKeyUnavailable(error, situation), exit: EXIT.failure };
  if (error instanceof AuditStoreError) return { lines: explainStoreError(error, situation), exit: EXIT.failure };
  // Written to be read as they are: what could not be opened, and what to do.
  if (error instanceof EnvironmentError) return { lines: [error.message], exit: EXIT.failure };
  if (error instanceof UnknownOrgError) return { lines: [error.message.endsWith('.') ? error.message : `${error.message}.`, 'List them with `thrad-rules orgs list --orgs FILE`.'], exit: EXIT.usage };
  if (error instanceof OrgsFileError || error instanceof OrgRegistryError) return { lines: [error.message], exit: EXIT.failure };
  if (error instanceof SimulationInputError || error instanceof FixtureError) {
    const problems = error instanceof SimulationInputError ? error.problems : error.problems;
    const file = error instanceof SimulationInputError ? error.file : error.source;
    return { lines: [...problems.slice(0, 20).map((p) => `${file}: ${p}`), 'Nothing was simulated: fix the input above and run again.'], exit: EXIT.failure };
  }
  if (error instanceof SimulationInterruptedError) return { lines: [error.message, 'Run it again to the end, or with an earlier --until for a shorter span.'], exit: EXIT.failure };
  if (isSystemError(error)) return { lines: explainSystemError(error), exit: EXIT.failure };
  return {
    lines: [`thrad-rules${situation.command ? ` ${situation.command}` : ''} stopped on an unexpected error: ${nameOf(error)}: ${messageOf(error)}.`, `This is a bug or a case thrad-rules does not know yet: ${DEBUG_HINT} (or add --debug).`],
    exit: EXIT.failure,
  };
}

/** The stack and its causes, for --debug / THRAD_RULES_DEBUG=1. */
function stackLines(error: unknown): string[] {
  return causes(error).flatMap((e, i) => {
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    return (i === 0 ? text : `Caused by: ${text}`).split('\n');
  });
}

/** Print what happened and what to do (and the stack when debugging); returns the exit code. */
export function reportError(error: unknown, io: Output, situation: Situation & { debug: boolean }): number {
  const { lines, exit } = explainError(error, situation);
  for (const line of lines) io.err(redactKeys(line));
  if (situation.debug) for (const line of stackLines(error)) io.err(redactKeys(line));
  return exit;
}

// ---- what a run recorded -------------------------------------------------------------------------

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Advice for a cycle whose failures were recorded rather than thrown (a rule without its data, an
 * action not called), one explanation per kind of problem. Empty when the run had none of them.
 */
export function explainCycle(result: { summary: RunSummary; decisions: readonly DecisionRecord[] }, situation: Situation): string[] {
  const byProblem = new Map<ApiProblem, { code: string; rules: Set<string>; actions: number }>();
  const note = (code: string | null | undefined, rule: string | null, action: boolean): void => {
    const problem = code ? PROBLEM_BY_CODE[code] : undefined;
    if (!problem || !code) return;
    const entry = byProblem.get(problem) ?? { code, rules: new Set<string>(), actions: 0 };
    if (rule && !action) entry.rules.add(rule);
    if (action) entry.actions += 1;
    byProblem.set(problem, entry);
  };
  for (const error of result.summary.errors) note(error.code, error.rule_id, false);
  for (const d of result.decisions) {
    if (d.outcome === 'data_unavailable') note(d.api_result?.error_code, d.rule_id, false);
    if (d.outcome === 'failed') note(d.api_result?.error_code, d.rule_id, true);
  }
  return [...byProblem].flatMap(([problem, entry]) => {
    const costs = [entry.rules.size > 0 ? `${plural(entry.rules.size, 'rule')} had no data and did nothing` : '', entry.actions > 0 ? `${plural(entry.actions, 'action')} could not be called` : ''].filter((c) => c !== '');
    return apiProblemLines(problem, { code: entry.code, detail: `requests failed without an answer (${entry.code})`, cost: costs.join(', ') || 'the run could not finish' }, situation);
  });
}
