// Errors a person can act on, in every command: each failure a user meets prints one or two lines
// on stderr (what happened, what to do), exits with the README's code, and shows no stack trace
// unless --debug or THRAD_RULES_DEBUG=1 asks for one. Real components on loopback only: the
// sandbox over HTTP (behind a header-stripping proxy for auth_required), dynalite, the real bin as
// a child process (with a preload that fails any connection beyond loopback).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditStoreError, AuditTableMissingError } from '../../functions/audit/errors';
import { AuditStore } from '../../functions/audit/store';
import { reportError } from '../../functions/cli/errors';
import { main, type CliContext } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';
import { localDynamoClient, startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { keyFingerprint } from '../../functions/shared/secrets';
import { ApiKeyUnavailableError, DeadlineExceededError, RateLimitError, RequestBudgetExceededError } from '../../functions/thrad/errors';
import type { Sandbox } from '../../sandbox/server';
import { engineRuleInputs } from '../helpers/engine';
import { ACCOUNT_ID, engineFixture, KEY } from '../helpers/fixtures';
import { http, withSandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'thrad-rules.cjs');
const GUARD = join(__dirname, 'loopback-only.cjs');
/** Key-shaped, so the assertions below would see it if anything printed it. */
const WRONG_KEY = 'ak_wrong_5d1c9e3b7a20';
const STACK_FRAME = /^\s+at /m;

interface Result {
  code: number;
  out: string;
  /** stderr, one entry per line. */
  err: string[];
}

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(...l.split('\n')), isTTY: false };
}

async function cli(args: string[], env: NodeJS.ProcessEnv, options: Partial<CliContext> = {}): Promise<Result> {
  const io = capture();
  const code = await main(args, { io, cwd: ROOT, env, ...options });
  return { code, out: io.stdout.join('\n'), err: io.stderr };
}

/** The real bin in a child process: only loopback connections are possible. */
function bin(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_OPTIONS: `--require ${GUARD}`, ...env };
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolvePromise({ code, out: stdout, err: stderr.split('\n').filter((l) => l !== '') });
    });
  });
}

/** What every failure must satisfy: the exit code, exactly these stderr lines, no stack, no key. */
function expectFailure(result: Result, code: number, lines: (string | RegExp)[]): void {
  const text = result.err.join('\n');
  expect(result.code, text).toBe(code);
  expect(result.err, text).toHaveLength(lines.length);
  lines.forEach((line, i) => (typeof line === 'string' ? expect(result.err[i]).toBe(line) : expect(result.err[i]).toMatch(line)));
  expect(text).not.toMatch(STACK_FRAME);
  expect(`${text}\n${result.out}`).not.toContain(WRONG_KEY);
  expect(`${text}\n${result.out}`).not.toContain(KEY);
  expect(text).not.toContain('NON-LOOPBACK');
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const KEY_FIX = 'Put the current key in THRAD_ADS_API_KEY (Thrad Platform → Settings → API keys; a new key is shown once), then run again.';

describe('errors a person can act on', () => {
  let sandbox: Sandbox;
  let dynamo: EmbeddedDynamo;
  let work: string;
  let rulesDir: string;

  /** The API mode every test starts from: the sandbox as "the real API", a table in dynalite. */
  const apiEnv = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    THRAD_ADS_API_KEY: KEY,
    THRAD_API_BASE_URL: sandbox.apiUrl,
    AUDIT_TABLE_NAME: 'errors-audit',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    THRAD_RULES_DIR: rulesDir,
    // A fresh data folder each time: no account id cached from an earlier command.
    THRAD_RULES_DATA_DIR: mkdtempSync(join(work, 'data-')),
    ...overrides,
  });

  beforeAll(async () => {
    sandbox = await withSandbox(engineFixture());
    dynamo = await startEmbeddedDynamo();
    work = mkdtempSync(join(ROOT, '.tmp', 'cli-errors-'));
    rulesDir = join(work, 'rules');
    mkdirSync(rulesDir);
    for (const rule of engineRuleInputs()) writeFileSync(join(rulesDir, `${rule.id}.json`), JSON.stringify(rule, null, 2));
  });
  afterAll(async () => {
    await sandbox.close();
    await dynamo.close();
  });
  beforeEach(() => sandbox.setFaults({ rate: 0 }));

  describe('401 invalid_api_key', () => {
    it('a key rotated more than 30 minutes ago: says where the key came from, never prints it', async () => {
      const rotated = await withSandbox(engineFixture());
      try {
        await http(rotated, 'POST', '/_sandbox/keys/rotate', {});
        await http(rotated, 'POST', '/_sandbox/clock', { advance_seconds: 31 * 60 });
        const result = await cli(['run', '--once'], apiEnv({ THRAD_API_BASE_URL: rotated.apiUrl }));
        expectFailure(result, 1, [
          `The Thrad API at ${rotated.apiUrl} rejected the API key from the environment variable THRAD_ADS_API_KEY (401 invalid_api_key): the key is wrong, revoked, or was rotated more than 30 minutes ago.`,
          KEY_FIX,
        ]);
      } finally {
        await rotated.close();
      }
    });

    it('a key from Secrets Manager: names the secret (THRAD_API_KEY_SECRET_ID)', async () => {
      const secrets = mockClient(SecretsManagerClient);
      try {
        secrets.on(GetSecretValueCommand, { SecretId: 'thrad/api-key' }).resolves({ SecretString: JSON.stringify({ api_key: WRONG_KEY }) });
        const result = await cli(['preview'], apiEnv({ THRAD_ADS_API_KEY: undefined, THRAD_API_KEY_SECRET_ID: 'thrad/api-key' }));
        expectFailure(result, 1, [
          `The Thrad API at ${sandbox.apiUrl} rejected the API key from the Secrets Manager secret thrad/api-key (named by THRAD_API_KEY_SECRET_ID) (401 invalid_api_key): the key is wrong, revoked, or was rotated more than 30 minutes ago.`,
          `Put the current key in the secret thrad/api-key (aws secretsmanager put-secret-value --secret-id thrad/api-key --secret-string '{"api_key":"ak_..."}'), then run again.`,
        ]);
        // A 401 re-reads the secret once (a rotated key), then gives up.
        expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
      } finally {
        secrets.restore();
      }
    });

    it('when the account is known already, the run records no data and says why, exit 1', async () => {
      const result = await cli(['run', '--once'], apiEnv({ THRAD_ADS_API_KEY: WRONG_KEY, THRAD_AD_ACCOUNT_ID: ACCOUNT_ID }));
      expect(result.out).toMatch(/pause-expensive\s+PAUSE\s+every entity {2}! no data \(could not read the campaign list \(invalid_api_key\)/);
      expectFailure(result, 1, [
        `The Thrad API at ${sandbox.apiUrl} rejected the API key from the environment variable THRAD_ADS_API_KEY (401 invalid_api_key): the key is wrong, revoked, or was rotated more than 30 minutes ago; 3 rules had no data and did nothing.`,
        KEY_FIX,
      ]);
    });

    it('as the real bin (THRAD_ADS_API_KEY=ak_wrong npx thrad-rules run --once): two lines, no stack', async () => {
      const result = await bin(['run', '--once'], apiEnv({ THRAD_ADS_API_KEY: 'ak_wrong' }));
      expectFailure(result, 1, [
        `The Thrad API at ${sandbox.apiUrl} rejected the API key from the environment variable THRAD_ADS_API_KEY (401 invalid_api_key): the key is wrong, revoked, or was rotated more than 30 minutes ago.`,
        KEY_FIX,
      ]);
    });
  });

  it('401 auth_required: the key never arrived (a proxy dropped the Authorization header)', async () => {
    const proxy: Server = createServer((req, res) => {
      const { authorization: _dropped, ...headers } = req.headers;
      const upstream = request({ host: '127.0.0.1', port: sandbox.port, path: req.url, method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
    try {
      const result = await cli(['undo', 'd_000000000000000000000000'], apiEnv({ THRAD_API_BASE_URL: url }));
      expectFailure(result, 1, [
        `The Thrad API at ${url} received no API key (401 auth_required): the requests reached it without their Authorization header.`,
        'Something between here and the API drops the header (a proxy?): point THRAD_API_BASE_URL at the API itself (default https://api.thrad.ai/v1), or run thrad-rules doctor to see what answers there.',
      ]);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  describe('an API that cannot be reached', () => {
    it.each([
      ['a blocked port', () => Promise.resolve('http://127.0.0.1:9/v1'), 'GET /ad_account lost its connection (fetch failed)'],
      ['a closed port', async () => `http://127.0.0.1:${await closedPort()}/v1`, 'GET /ad_account could not connect (ECONNREFUSED)'],
    ])('%s: names the URL, THRAD_API_BASE_URL and thrad-rules doctor', async (_name, makeUrl, detail) => {
      const url = await makeUrl();
      const result = await cli(['run', '--once'], apiEnv({ THRAD_API_BASE_URL: url }));
      expectFailure(result, 1, [`Cannot reach the Thrad API at ${url}: ${detail}.`, `Check THRAD_API_BASE_URL (set to ${url}) and the network, or run thrad-rules doctor to probe the API.`]);
    });
  });

  it('429 after retries: the hour is used, wait and run again', async () => {
    sandbox.clearRequests();
    sandbox.setFaults({ rate: 1, kinds: ['http_429'], retry_after_seconds: 0 });
    const result = await cli(['preview'], apiEnv());
    expectFailure(result, 1, [
      `The Thrad API at ${sandbox.apiUrl} kept answering 429 rate_limit_exceeded to GET /ad_account, also after retries: this key's 1000 requests of the last hour are used.`,
      'Wait a few minutes and run again; every process using this key counts. To need fewer requests, run rules less often or put them on fewer schedules (README: Rate-limit arithmetic).',
    ]);
    expect(sandbox.requests().filter((r) => r.status === 429)).toHaveLength(5);
  });

  it('request_budget_exceeded: another process used the hour, nothing is sent', async () => {
    const table = 'errors-budget';
    const store = new AuditStore({ tableName: table, client: localDynamoClient(dynamo.endpoint), clock: sandbox.world.clock });
    await store.ensureTable();
    const minute = Math.floor(sandbox.world.clock.nowMs() / 60_000) * 60_000;
    await store.recordRequests(ACCOUNT_ID, keyFingerprint(KEY), 'another-autopilot', new Map([[minute, 1000]]));
    sandbox.clearRequests();
    const result = await cli(['run', '--once'], apiEnv({ AUDIT_TABLE_NAME: table, THRAD_AD_ACCOUNT_ID: ACCOUNT_ID }));
    expectFailure(result, 1, [
      "This key's request budget is spent: the last hour's 1000 requests are used, counted across every process using the key (request_budget_exceeded); 3 rules had no data and did nothing.",
      'Nothing was sent for those; the next occurrence tries again once the hour frees up. To need fewer, run rules less often, put them on fewer schedules, or narrow ad group and ad rules with scope.campaign_ids.',
    ]);
    expect(sandbox.requests().filter((r) => r.path.startsWith('/v1/'))).toEqual([]);
  });

  it('a run cut off by its deadline: no rule acts on partial data, exit 1', async () => {
    sandbox.clearRequests();
    const result = await cli(['run', '--once'], apiEnv({ THRAD_AD_ACCOUNT_ID: ACCOUNT_ID }), { cycleTimeoutMs: 0 });
    expect(result.out).toMatch(/pause-expensive\s+PAUSE\s+every entity {2}! no data \(could not read the campaign list \(deadline_exceeded\)/);
    expectFailure(result, 1, [
      'The run was cut off by its deadline before it finished (deadline_exceeded); 3 rules had no data and did nothing.',
      'Nothing acted on partial data; the next occurrence tries again. If it keeps happening the API is slow (run thrad-rules doctor) or there is too much to read: narrow ad group and ad rules with scope.campaign_ids.',
    ]);
    expect(sandbox.requests().filter((r) => r.method === 'POST')).toEqual([]);
  });

  describe('the audit store', () => {
    it('DYNAMODB_ENDPOINT at a closed port: names the endpoint and the way back to the embedded store', async () => {
      const endpoint = `http://127.0.0.1:${await closedPort()}`;
      const result = await cli(['audit'], apiEnv({ DYNAMODB_ENDPOINT: endpoint, THRAD_AD_ACCOUNT_ID: ACCOUNT_ID }));
      expectFailure(result, 1, [
        `Cannot reach the audit store at ${endpoint} (DYNAMODB_ENDPOINT): ECONNREFUSED.`,
        'Start that DynamoDB-compatible server or fix DYNAMODB_ENDPOINT, or unset DYNAMODB_ENDPOINT and AUDIT_TABLE_NAME to use the embedded store.',
      ]);
    });

    it('the embedded store locked by another process', async () => {
      const dataDir = mkdtempSync(join(ROOT, '.tmp', 'cli-locked-'));
      const holder = await startEmbeddedDynamo({ path: join(dataDir, 'db') });
      try {
        const result = await bin(['audit'], { THRAD_ADS_API_KEY: KEY, THRAD_API_BASE_URL: `http://127.0.0.1:${await closedPort()}/v1`, THRAD_AD_ACCOUNT_ID: ACCOUNT_ID, THRAD_RULES_DATA_DIR: dataDir, THRAD_RULES_DIR: rulesDir });
        expectFailure(result, 1, [
          `Cannot open the embedded store in ${join(dataDir, 'db')} (its folder is locked by another process). Is another autopilot using it? To share one store between processes, run a DynamoDB-compatible server and set AUDIT_TABLE_NAME and DYNAMODB_ENDPOINT.`,
        ]);
      } finally {
        await holder.close();
      }
    });

    it('DynamoDB without AWS credentials: nothing leaves loopback', async () => {
      const result = await bin(['audit'], {
        AUDIT_TABLE_NAME: 'thrad-autopilot-audit',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_SESSION_TOKEN: '',
        AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
        AWS_CONFIG_FILE: join(work, 'no-config'),
        AWS_EC2_METADATA_DISABLED: 'true',
        THRAD_RULES_DATA_DIR: join(work, 'creds-data'),
        THRAD_RULES_DIR: rulesDir,
      });
      expectFailure(result, 1, [
        'No AWS credentials to use the DynamoDB table thrad-autopilot-audit (AUDIT_TABLE_NAME): Could not load credentials from any providers.',
        'Configure AWS credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or unset AUDIT_TABLE_NAME to use the embedded store under .thrad-rules/.',
      ]);
    });

    it('the loopback guard itself refuses a connection beyond loopback (so the tests above can fail)', async () => {
      const result = await new Promise<string>((r) => execFile(process.execPath, ['--require', GUARD, '-e', "require('node:net').connect(443, '203.0.113.7')"], { encoding: 'utf8' }, (_e, _out, stderr) => r(stderr)));
      expect(result).toContain('NON-LOOPBACK connection to 203.0.113.7:443');
    });
  });

  describe('the rules folder', () => {
    it.each([
      ['run', ['run', '--once']],
      ['preview', ['preview']],
    ])('missing (%s)', async (command, args) => {
      const dir = join(work, 'no-such-rules');
      const result = await cli([...args, '--rules', dir], apiEnv());
      expectFailure(result, 1, [
        `No rules folder at ${dir} (--rules): nothing to ${command}.`,
        "Create it with a rule file (examples: the project's rules/; the format: npx thrad-rules schema), or point --rules (or THRAD_RULES_DIR) at your rules folder.",
      ]);
    });

    it('empty (THRAD_RULES_DIR)', async () => {
      const dir = mkdtempSync(join(work, 'empty-rules-'));
      const result = await cli(['run', '--once'], apiEnv({ THRAD_RULES_DIR: dir }));
      expectFailure(result, 1, [
        `No rule files (*.json) in ${dir} (THRAD_RULES_DIR): nothing to run.`,
        "Add a rule (examples: the project's rules/; the format: npx thrad-rules schema), or point --rules (or THRAD_RULES_DIR) at your rules folder.",
      ]);
    });

    it('only invalid rules: one line per problem, as validate prints them, then what to do', async () => {
      const dir = mkdtempSync(join(work, 'bad-rules-'));
      writeFileSync(join(dir, 'ctr.json'), JSON.stringify({ id: 'ctr', mode: 'live', schedule: { expression: 'rate(5 minutes)' }, level: 'campaign', when: { metric: 'ctr', window: 'today', op: 'gt', value: 5 }, then: { action: 'pause' }, guards: { min_data: { impressions: 10 } } }));
      writeFileSync(join(dir, 'broken.json'), '{"id": ');
      const result = await cli(['run', '--once', '--rules', dir], apiEnv());
      expectFailure(result, 1, [
        /broken\.json:\(root\): not valid JSON at line 1, column 8: expected a value, found the end of the file$/,
        /ctr\.json:when\.value: ctr is a fraction \(0\.05 = 5%\), so 5 would mean 500%\. Did you mean 0\.05\? \(rule ctr\)$/,
        `No valid rules in ${dir} (--rules): nothing to run (2 problems above).`,
        `Fix them (npx thrad-rules validate ${dir}), or point --rules (or THRAD_RULES_DIR) at your rules folder.`,
      ]);
    });
  });

  describe('bad flag values name the flag, what it takes, and an example', () => {
    const help = (command: string): string => `Run "thrad-rules ${command} --help" for the options and examples.`;
    it.each([
      [['audit', '--limit', '20000'], '--limit 20000: expected a whole number from 1 to 10000 (how many records to show, newest first), e.g. --limit 500.', '10000 is the most one call shows: for more, page back in time with --until set to the evaluated_at of the oldest record shown (--json has it), or narrow the window with --since.'],
      [['audit', '--limit', '0'], '--limit 0: expected a whole number from 1 to 10000 (how many records to show, newest first), e.g. --limit 500.', help('audit')],
      [['audit', '--limit', '2.5'], '--limit 2.5: expected a whole number from 1 to 10000 (how many records to show, newest first), e.g. --limit 500.', help('audit')],
      [['audit', '--since', 'yesterdayish'], '--since yesterdayish: expected a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to 3650d (90m, 6h, 7d), e.g. --since 7d.', help('audit')],
      [['audit', '--until', 'soon'], '--until soon: expected a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to 3650d (90m, 6h, 7d), e.g. --until 2026-11-24T10:00:00Z.', help('audit')],
      [['audit', '--outcome', 'exploded'], /^--outcome exploded: expected one of acted, .*, pending, e\.g\. --outcome failed\.$/, help('audit')],
      [['audit', '--json', '--csv'], 'Choose one of --json and --csv.', '--json gives decision objects with every field, --csv a table for spreadsheets; e.g. npx thrad-rules audit --csv > decisions.csv'],
      [['audit', '--limit'], "Option '--limit <value>' argument missing.", 'Run "thrad-rules audit --help" for its options and examples.'],
      [['audit', '--since', '99999d'], '--since 99999d: expected a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to 3650d (90m, 6h, 7d), e.g. --since 7d.', help('audit')],
      [['audit', '--since', '2026-02-30'], '--since 2026-02-30: expected a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to 3650d (90m, 6h, 7d), e.g. --since 7d.', help('audit')],
      [['report', '--since', 'lastweek'], '--since lastweek: expected a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to 3650d (90m, 6h, 7d), e.g. --since 30d.', help('report')],
      [['report', '--until', 'tomorrowish'], '--until tomorrowish: expected a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to 3650d (90m, 6h, 7d), e.g. --until 1d.', help('report')],
      [['report', '--since', '1d', '--until', '2d'], '--since 1d is not before --until 2d: the report covers the time from --since to --until.', 'Give a --since before the --until, e.g. --since 30d --until 1d, or leave --until out for "until the newest record".'],
      [['run', '--clock-speed', '-1'], '--clock-speed needs a value; one that starts with "-" is written --clock-speed=-N (e.g. --clock-speed=-1), since -N alone reads as an option.', 'Run "thrad-rules run --help" for its options and examples.'],
      [['run', '--clock-speed=-1'], '--clock-speed -1: expected a number 0 or more (sandbox seconds per real second, with the bundled sandbox; 0 stops its clock), e.g. --clock-speed 3600.', help('run')],
      [['run', '--clock-speed', 'fast'], '--clock-speed fast: expected a number 0 or more (sandbox seconds per real second, with the bundled sandbox; 0 stops its clock), e.g. --clock-speed 3600.', help('run')],
      [['run', '--sandbox-port', '70000'], "--sandbox-port 70000: expected a whole number from 0 to 65535 (the bundled sandbox's port; 0 picks a free one), e.g. --sandbox-port 4020.", help('run')],
      [['validate', '--jsn'], "Unknown option '--jsn' for thrad-rules validate. Did you mean --json?", 'Run "thrad-rules validate --help" for its options and examples.'],
      [['undo'], 'undo takes exactly one decision id; found none.', 'Find the id with npx thrad-rules audit --outcome acted --limit 5, then: npx thrad-rules undo <decision_id>'],
      [['frobnicate'], 'Unknown command "frobnicate". Commands: run, preview, audit, undo, approvals, approve, reject, report, simulate, console, doctor, orgs, validate, schema.', 'Run "thrad-rules --help" for what each does.'],
    ])('%j → exit 2', async (args, line, hint) => {
      const result = await cli(args, apiEnv({ THRAD_AD_ACCOUNT_ID: ACCOUNT_ID }));
      expectFailure(result, 2, [line, hint]);
    });
  });

  describe('configuration', () => {
    it('a key that is not a Thrad key: says which variable, and what a key looks like', async () => {
      const result = await cli(['run', '--once'], apiEnv({ THRAD_ADS_API_KEY: 'sk_live_0123456789' }));
      expectFailure(result, 1, [
        'The API key from the THRAD_ADS_API_KEY environment variable does not look like a Thrad secret key (it should start with "ak_").',
        'Put your key (it starts with ak_; Thrad Platform → Settings → API keys) in THRAD_ADS_API_KEY, or unset THRAD_ADS_API_KEY and THRAD_API_KEY_SECRET_ID to use the bundled sandbox.',
      ]);
      expect(result.err.join('\n')).not.toContain('sk_live_0123456789');
    });

    it('THRAD_API_BASE_URL that is not a URL: exit 2', async () => {
      const result = await cli(['audit'], apiEnv({ THRAD_API_BASE_URL: 'api.thrad.ai' }));
      expectFailure(result, 2, ['Configuration: THRAD_API_BASE_URL: Invalid URL (found "api.thrad.ai").', 'Fix or unset that variable, then run again.']);
    });

    it('validate on a folder without rule files', async () => {
      const dir = mkdtempSync(join(work, 'nothing-'));
      const result = await cli(['validate', dir], {});
      expectFailure(result, 1, [`No rule files (*.json) in ${dir}: nothing to validate.`, "Add a rule (examples: the project's rules/; the format: npx thrad-rules schema), or name the files or folders to check (npx thrad-rules validate my-rules/)."]);
    });
  });

  describe('the printer, for typed errors the commands above do not reach', () => {
    const NOV_19_2210_EST = Date.UTC(2026, 10, 20, 3, 10);
    const keyEnv = { THRAD_ADS_API_KEY: KEY, TZ: 'America/New_York' };
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    it.each([
      [
        'a request budget refused up front',
        new RequestBudgetExceededError('budget', { operation: 'POST /campaigns/c1/pause', used: 1000, limit: 1000, needed: 1, availableAtMs: NOV_19_2210_EST }),
        keyEnv,
        [
          "This key's request budget is spent: 1000 of 1000 requests in the last hour are used (counted across every process using the key) and POST /campaigns/c1/pause needs 1 more (request_budget_exceeded); nothing was sent.",
          'Run again after 2026-11-19 22:10 EST; to need fewer, run rules less often, put them on fewer schedules, or narrow ad group and ad rules with scope.campaign_ids.',
        ],
      ],
      [
        'a call cut off by the deadline',
        new DeadlineExceededError('No time left before the deadline for Thrad API POST /campaigns/c1/activate', { operation: 'POST /campaigns/c1/activate' }),
        keyEnv,
        [
          "POST /campaigns/c1/activate was cut off by the command's deadline before the Thrad API at https://api.thrad.ai/v1 answered (deadline_exceeded).",
          'Nothing more was sent. Run again; if it keeps happening, the API is slow or unreachable: run thrad-rules doctor.',
        ],
      ],
      [
        'a 429 with a long Retry-After',
        new RateLimitError('Thrad API GET /campaigns failed: 429 rate_limit_exceeded: Rate limit exceeded', { httpStatus: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null, operation: 'GET /campaigns', retryAfterSeconds: 1800 }),
        keyEnv,
        [
          "The Thrad API at https://api.thrad.ai/v1 kept answering 429 rate_limit_exceeded to GET /campaigns, also after retries: this key's 1000 requests of the last hour are used (it asks to wait about 30 minutes).",
          'Wait about 30 minutes and run again; every process using this key counts. To need fewer requests, run rules less often or put them on fewer schedules (README: Rate-limit arithmetic).',
        ],
      ],
      [
        'a table that does not exist',
        new AuditTableMissingError('my-table'),
        { AUDIT_TABLE_NAME: 'my-table' },
        [
          'The audit table "my-table" does not exist or is not accessible; create it (npx cdk deploy, or the local runner creates it at DYNAMODB_ENDPOINT).',
          'Check AUDIT_TABLE_NAME and the AWS region (AWS_REGION), or unset AUDIT_TABLE_NAME to use the embedded store under .thrad-rules/.',
        ],
      ],
      [
        'DynamoDB without a region',
        new AuditStoreError('Audit store Query on my-table failed: Error: Region is missing', { operation: 'Query', awsCode: 'Error' }, { cause: new Error('Region is missing') }),
        { AUDIT_TABLE_NAME: 'my-table' },
        ['No AWS region for the DynamoDB table my-table (AUDIT_TABLE_NAME).', "Set AWS_REGION to the table's region (e.g. us-east-1), or unset AUDIT_TABLE_NAME to use the embedded store under .thrad-rules/."],
      ],
      [
        'a secret that cannot be read without AWS credentials',
        new ApiKeyUnavailableError('Could not read Secrets Manager secret thrad/api-key: CredentialsProviderError.', { cause: noCredentials }),
        { THRAD_API_KEY_SECRET_ID: 'thrad/api-key' },
        ['No AWS credentials to read the Secrets Manager secret thrad/api-key (named by THRAD_API_KEY_SECRET_ID).', 'Configure AWS credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or set THRAD_ADS_API_KEY instead.'],
      ],
    ])('%s', (_name, error, env, lines) => {
      const io = capture();
      const code = reportError(error, io, { env, command: 'run', debug: false });
      expectFailure({ code, out: '', err: io.stderr }, 1, lines);
    });
  });

  it('a file the command cannot write (report --out into a missing folder)', async () => {
    const out = join(work, 'no-such-folder', 'report.html');
    const result = await cli(['report', '--out', out], apiEnv({ THRAD_AD_ACCOUNT_ID: ACCOUNT_ID }));
    expectFailure(result, 1, [`Cannot write to ${out}: no such file or folder.`, 'Create the folder first, or choose a path in an existing one.']);
  });

  it('an unknown error still prints one line, and how to see more', async () => {
    const stderr: string[] = [];
    const io: Output = {
      out: () => {
        throw new TypeError('stdout is closed');
      },
      err: (l) => stderr.push(...l.split('\n')),
      isTTY: false,
    };
    const code = await main(['schema'], { io, cwd: ROOT, env: {} });
    expectFailure({ code, out: '', err: stderr }, 1, [
      'thrad-rules schema stopped on an unexpected error: TypeError: stdout is closed.',
      'This is a bug or a case thrad-rules does not know yet: run again with THRAD_RULES_DEBUG=1 for details (or add --debug).',
    ]);
  });

  it("the README's troubleshooting table quotes the lines as printed", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const troubleshooting = readme.slice(readme.indexOf('## Troubleshooting'));
    for (const line of [
      'rejected the API key from the environment variable THRAD_ADS_API_KEY (401 invalid_api_key): the key is wrong, revoked, or was rotated more than 30 minutes ago.',
      'received no API key (401 auth_required): the requests reached it without their Authorization header.',
      'Cannot reach the Thrad API at http://127.0.0.1:9/v1: GET /ad_account lost its connection (fetch failed).',
      "kept answering 429 rate_limit_exceeded to GET /ad_account, also after retries: this key's 1000 requests of the last hour are used.",
      'The run was cut off by its deadline before it finished (deadline_exceeded); 3 rules had no data and did nothing.',
      'No AWS credentials to use the DynamoDB table <name> (AUDIT_TABLE_NAME): Could not load credentials from any providers.',
      '--limit 20000: expected a whole number from 1 to 10000 (how many records to show, newest first), e.g. --limit 500.',
      'run again with THRAD_RULES_DEBUG=1 for details',
    ]) expect(troubleshooting).toContain(line);
  });

  describe('stack traces only when asked for', () => {
    it.each([
      ['--debug', ['run', '--once', '--debug'], {}],
      ['THRAD_RULES_DEBUG=1', ['run', '--once'], { THRAD_RULES_DEBUG: '1' }],
    ])('%s prints the two lines, then the stack and its causes (still without the key)', async (_name, args, extra) => {
      const result = await cli(args, apiEnv({ THRAD_ADS_API_KEY: WRONG_KEY, ...extra }));
      expect(result.code).toBe(1);
      expect(result.err[0]).toMatch(/^The Thrad API at .* rejected the API key from the environment variable THRAD_ADS_API_KEY \(401 invalid_api_key\)/);
      expect(result.err[1]).toBe(KEY_FIX);
      expect(result.err[2]).toBe('AuthenticationError: Thrad API GET /ad_account failed: 401 invalid_api_key: Invalid API key.');
      expect(result.err.join('\n')).toMatch(STACK_FRAME);
      expect(result.err.join('\n')).not.toContain(WRONG_KEY);
    });

    it('--debug after "--" is not taken as the debug flag', async () => {
      const result = await cli(['validate', '--', '--debug'], {});
      expect(result.code).toBe(1);
      expect(result.out).toMatch(/--debug:\(root\): no such file or directory/);
    });
  });
});
