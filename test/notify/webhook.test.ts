// Webhook notifications end to end: engine cycles against the sandbox and dynalite, posting to a
// receiver on 127.0.0.1. Exactly one digest per run that acted, failed or awaits approval, an
// immediate alert for a failure (before its digest), nothing for quiet runs; bounded retries
// recorded in the run summary; a failed notification never fails a run; no key in any payload.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSummary, runSummarySchema, type RunSummary } from '../../functions/audit/records';
import { describeDecision } from '../../functions/engine/describe';
import { ChannelNotifier, digestDue, type RunDigest } from '../../functions/engine/notifier';
import { loadConfig } from '../../functions/local/config';
import { ConfigError } from '../../functions/local/errors';
import { WebhookConfigError, WebhookUnavailableError } from '../../functions/notify/errors';
import { slackPayload } from '../../functions/notify/slack';
import { webhookUrl } from '../../functions/notify/url';
import { retryAfterMs, SecretWebhookAddress, StaticWebhookAddress, WebhookChannel } from '../../functions/notify/webhook';
import type { RuleInput } from '../../functions/rules/schema';
import { ManualClock } from '../../functions/shared/clock';
import { compiledFrom, engineRuleInputs, rig, type Rig } from '../helpers/engine';
import { ACCOUNT_ID, eids, engineFixture, KEY } from '../helpers/fixtures';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { recordingSleep } from '../helpers/sandbox';

const T0 = Date.parse('2026-03-10T15:00:00Z');
const QUARTER = 15 * 60_000;
const deadline = (): number => Date.now() + 60_000;

interface SlackBody {
  text: string;
  blocks: { type: string; text: { type: string; text: string } }[];
}
const slack = (json: unknown): SlackBody => json as SlackBody;

/** A budget proposal on the cheap campaign, waiting for a person. */
const proposal: RuleInput = {
  id: 'scale-cheap',
  mode: 'approval',
  schedule: { expression: 'rate(15 minutes)', timezone: 'UTC' },
  level: 'campaign',
  scope: { ids: [eids.cheap] },
  when: { field: 'status', op: 'eq', value: 'active' },
  then: { action: 'change_budget', by_percent: 20, max_usd: 20_000 },
  guards: { cooldown: '1d', approval_expires: '2h' },
};

describe('webhook notifications from engine cycles', () => {
  let r: Rig | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await r?.close();
    await receiver?.close();
    r = undefined;
    receiver = undefined;
  });

  const setup = async (): Promise<{ r: Rig; receiver: Receiver; sleep: ReturnType<typeof recordingSleep>; notifier: ChannelNotifier }> => {
    r = await rig(engineFixture(), compiledFrom([...engineRuleInputs(), proposal]));
    receiver = await startReceiver();
    const sleep = recordingSleep();
    const notifier = new ChannelNotifier([new WebhookChannel({ address: new StaticWebhookAddress(new URL(receiver.url)), sleep })]);
    return { r, receiver, sleep, notifier };
  };

  it('posts exactly one digest per run that acted, failed or awaits approval, an alert before a failure\'s digest, and nothing for quiet runs', async () => {
    const { r, receiver, notifier } = await setup();
    const engine = r.engine({ notifier });
    const cycle = async (atMs: number, ruleIds: string[], mode?: 'dry_run'): Promise<RunSummary> => {
      r.sandbox.world.clock.set(atMs);
      return (await engine.runCycle({ ruleIds, scheduledTime: atMs, deadlineMs: deadline(), mode, trigger: 'manual' })).summary;
    };
    const posted = (): number => receiver.posts.length;

    // 1. Acts: the launch and the night pause.
    const acted = await cycle(T0, ['activate-approved', 'night-pause']);
    expect(acted.counts).toMatchObject({ acted: 2 });
    expect(posted()).toBe(1);
    const digest = slack(receiver.posts[0]?.json);
    expect(receiver.posts[0]?.contentType).toBe('application/json');
    expect(digest.text).toContain(`run ${acted.run_id}`);
    const actedLines = (await r.store.queryDecisions(ACCOUNT_ID, { runId: acted.run_id })).map(describeDecision);
    expect(actedLines).toHaveLength(2);
    for (const line of actedLines) expect(digest.text).toContain(`- ${line}`);
    expect(digest.text).toContain('activated campaign "Fresh Launch" [activate-approved]');
    expect(digest.text).toContain('paused campaign "Owl Lamps [night]" [night-pause]');
    expect(digest.blocks.every((b) => b.type === 'section' && b.text.type === 'mrkdwn')).toBe(true);
    expect(digest.blocks[0]?.text.text).toMatch(/^\*Thrad autopilot: 2 actions \(run run_/);
    // mrkdwn and the fallback text are both escaped (Slack formats both)
    expect(digest.blocks.map((b) => b.text.text).join('\n')).toContain('• paused campaign "Owl Lamps [night]"');

    // 2. Quiet: the same rules again find nothing to do; a dry run that would act is not an action.
    const quiet = [await cycle(T0 + QUARTER, ['activate-approved', 'night-pause']), await cycle(T0 + 2 * QUARTER, ['pause-expensive'], 'dry_run'), await cycle(T0 + 3 * QUARTER, ['activate-approved', 'night-pause'])];
    expect(quiet.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
    expect(quiet[1]?.counts).toMatchObject({ would_act: 1 });
    expect(quiet.every((s) => !s.counts.acted && !s.counts.failed)).toBe(true);
    expect(posted()).toBe(1);
    expect(quiet.map((s) => s.notifications)).toEqual([[], [], []]);

    // 3. Fails: the pause is refused (429) → an immediate alert, then the digest.
    r.sandbox.setFaults({ rate: 1, kinds: ['http_429'], path_pattern: `${eids.expensive}/pause$`, retry_after_seconds: 1 });
    const failed = await cycle(T0 + 4 * QUARTER, ['pause-expensive']);
    r.sandbox.setFaults({ rate: 0 });
    expect(failed.counts).toMatchObject({ failed: 1 });
    expect(posted()).toBe(3);
    const [alert, failedDigest] = [slack(receiver.posts[1]?.json), slack(receiver.posts[2]?.json)];
    expect(alert.text).toMatch(/^Thrad autopilot: FAILED to pause campaign "Expensive Shoes"/);
    expect(alert.text).toContain(`run ${failed.run_id}`);
    expect(alert.text).toContain('FAILED to pause campaign "Expensive Shoes" [pause-expensive]: rate_limit_exceeded');
    expect(failedDigest.text).toMatch(new RegExp(`^Thrad autopilot: 1 failed \\(run ${failed.run_id}\\)`));
    expect(failed.notifications).toEqual([
      { channel: 'webhook', kind: 'failure_alert', status: 'sent', attempts: 1, http_status: 200, error: null },
      { channel: 'webhook', kind: 'digest', status: 'sent', attempts: 1, http_status: 200, error: null },
    ]);

    // 4. A proposal awaits approval: one digest that says so.
    const pending = await cycle(T0 + 5 * QUARTER, ['scale-cheap']);
    expect(pending.counts).toMatchObject({ awaiting_approval: 1 });
    expect(posted()).toBe(4);
    const pendingDigest = slack(receiver.posts[3]?.json);
    expect(pendingDigest.text).toContain(`run ${pending.run_id}`);
    const [proposed] = await r.store.queryDecisions(ACCOUNT_ID, { runId: pending.run_id });
    expect(proposed?.outcome).toBe('awaiting_approval');
    expect(pendingDigest.text).toContain(`- ${describeDecision(proposed)}`);
    expect(pendingDigest.text).toContain('campaign "Cheap Socks" [scale-cheap], awaiting approval until');
    expect(pendingDigest.text).toContain('1 proposal awaits approval');

    // Exactly one digest per noteworthy run, and the record of each says so.
    const digestRuns = receiver.posts.filter((p) => !slack(p.json).text.startsWith('Thrad autopilot: FAILED')).map((p) => /\(run (run_[^)]+)\)/.exec(slack(p.json).text)?.[1]);
    expect(digestRuns).toEqual([acted.run_id, failed.run_id, pending.run_id]);
    const stored = await r.store.getRunSummary(ACCOUNT_ID, acted.run_id);
    expect(stored?.notifications).toEqual([{ channel: 'webhook', kind: 'digest', status: 'sent', attempts: 1, http_status: 200, error: null }]);
    // The key is in no payload.
    expect(receiver.posts.some((p) => p.raw.includes(KEY))).toBe(false);
  });

  it('retries a 500 and records the digest sent on the second attempt', async () => {
    const { r, receiver, sleep, notifier } = await setup();
    receiver.answer({ status: 500, body: 'upstream hiccup' }, { status: 200, body: 'ok' });
    r.sandbox.world.clock.set(T0);
    const { summary } = await r.engine({ notifier }).runCycle({ ruleIds: ['night-pause'], scheduledTime: T0, deadlineMs: deadline() });
    expect(receiver.posts).toHaveLength(2);
    expect(receiver.posts[1]?.raw).toBe(receiver.posts[0]?.raw);
    expect(sleep.delays).toEqual([1_000]);
    expect(summary.notifications).toEqual([{ channel: 'webhook', kind: 'digest', status: 'sent', attempts: 2, http_status: 200, error: null }]);
    expect((await r.store.getRunSummary(ACCOUNT_ID, summary.run_id))?.notifications).toEqual(summary.notifications);
  });

  it('gives up after 3 attempts on a receiver that always fails; the run still completes and records the failure', async () => {
    const { r, receiver, sleep, notifier } = await setup();
    receiver.answer({ status: 500, body: 'down' });
    r.sandbox.world.clock.set(T0);
    const { summary } = await r.engine({ notifier }).runCycle({ ruleIds: ['night-pause'], scheduledTime: T0, deadlineMs: deadline() });
    expect(summary.status).toBe('completed');
    expect(summary.counts).toMatchObject({ acted: 1 });
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
    expect(receiver.posts).toHaveLength(3);
    expect(sleep.delays).toEqual([1_000, 2_000]);
    expect(summary.notifications).toEqual([{ channel: 'webhook', kind: 'digest', status: 'failed', attempts: 3, http_status: 500, error: '127.0.0.1:' + new URL(receiver.url).port + ' answered HTTP 500: down (gave up after 3 attempts)' }]);
    // The address's secret path is in no record.
    expect(JSON.stringify(await r.store.getRunSummary(ACCOUNT_ID, summary.run_id))).not.toContain('secretpath');
  });
});

describe('WebhookChannel', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  const digestWith = (summary: Partial<RunSummary>): RunDigest => ({
    summary: runSummary({ run_id: 'run_20260310T150000_abcdef', account_id: ACCOUNT_ID, schedule_id: null, scheduled_time: '2026-03-10T15:00:00.000Z', started_at: '2026-03-10T15:00:00.000Z', status: 'failed', trigger: 'schedule', rule_ids: ['r1'], errors: [], expires_at: 0 }, summary),
    decisions: [],
  });

  it('never sends the API key, even when an error message from the API carries it', async () => {
    receiver = await startReceiver();
    const notifier = new ChannelNotifier([new WebhookChannel({ address: new StaticWebhookAddress(new URL(receiver.url)), sleep: recordingSleep() })]);
    const digest = digestWith({ errors: [{ rule_id: null, code: 'invalid_api_key', message: `The key ${KEY} was revoked` }] });
    const [record] = await notifier.notify(digest, { deadlineMs: deadline() });
    await notifier.alert({ kind: 'run_failed', run_id: digest.summary.run_id, scheduled_time: digest.summary.scheduled_time, error: digest.summary.errors[0] ?? { rule_id: null, code: '', message: '' } }, { deadlineMs: deadline() });
    expect(record).toMatchObject({ status: 'sent' });
    expect(receiver.posts).toHaveLength(2);
    for (const post of receiver.posts) {
      expect(post.raw).not.toContain(KEY);
      expect(post.raw).not.toMatch(/ak_[A-Za-z0-9_-]{4,}/);
      expect(post.raw).toContain('The key [redacted key_');
    }
  });

  it('honours a 429 Retry-After up to its cap, and gives up on a longer one without waiting', async () => {
    receiver = await startReceiver();
    const sleep = recordingSleep();
    const channel = new WebhookChannel({ address: new StaticWebhookAddress(new URL(receiver.url)), sleep });
    const message = { kind: 'digest' as const, subject: 's', body: 'b', slack: { text: 's', blocks: [] } };
    receiver.answer({ status: 429, headers: { 'Retry-After': '2' } }, { status: 200 });
    await expect(channel.send(message, { deadlineMs: deadline() })).resolves.toMatchObject({ status: 'sent', attempts: 2 });
    expect(sleep.delays).toEqual([2_000]);
    receiver.answer({ status: 429, headers: { 'Retry-After': '120' } });
    await expect(channel.send(message, { deadlineMs: deadline() })).resolves.toMatchObject({ status: 'failed', attempts: 1, http_status: 429, error: expect.stringContaining('Retry-After 120 s is longer than the 10 s') as unknown });
    expect(sleep.delays).toEqual([2_000]);
  });

  it('does not retry an answer that will not change (404), nor past the run\'s deadline', async () => {
    receiver = await startReceiver();
    const sleep = recordingSleep();
    const channel = new WebhookChannel({ address: new StaticWebhookAddress(new URL(receiver.url)), sleep });
    const message = { kind: 'digest' as const, subject: 's', body: 'b', slack: { text: 's', blocks: [] } };
    receiver.answer({ status: 404, body: 'no_service' });
    await expect(channel.send(message, { deadlineMs: deadline() })).resolves.toMatchObject({ status: 'failed', attempts: 1, http_status: 404, error: expect.stringContaining('HTTP 404: no_service') as unknown });
    receiver.answer({ status: 503 });
    await expect(channel.send(message, { deadlineMs: Date.now() + 1_500 })).resolves.toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining("no time left before the run's deadline") as unknown });
    expect(sleep.delays).toEqual([]);
  });

  it('records an unreachable receiver as failed after bounded attempts', async () => {
    receiver = await startReceiver();
    const url = new URL(receiver.url);
    await receiver.close();
    receiver = undefined;
    const sleep = recordingSleep();
    const channel = new WebhookChannel({ address: new StaticWebhookAddress(url), sleep, maxAttempts: 2 });
    const record = await channel.send({ kind: 'failure_alert', subject: 's', body: 'b', slack: { text: 's', blocks: [] } }, { deadlineMs: deadline() });
    expect(record).toMatchObject({ channel: 'webhook', kind: 'failure_alert', status: 'failed', attempts: 2, http_status: null, error: expect.stringContaining('could not reach 127.0.0.1') as unknown });
    expect(record.error).not.toContain('secretpath');
  });

  it.each([
    ['Retry-After seconds', '3', 3_000],
    ['an HTTP date', 'Tue, 10 Mar 2026 15:00:05 GMT', 5_000],
    ['absent', null, null],
    ['unreadable', 'soon', null],
  ])('reads %s', (_name, header, expected) => {
    expect(retryAfterMs(header, T0)).toBe(expected);
  });
});

describe('digests are due for runs that acted, failed or await approval', () => {
  const base = runSummary({ run_id: 'run_x', account_id: ACCOUNT_ID, schedule_id: null, scheduled_time: '2026-03-10T15:00:00.000Z', started_at: '2026-03-10T15:00:00.000Z', status: 'completed', trigger: 'schedule', rule_ids: [], errors: [], expires_at: 0 });
  const decision = (outcome: string) => ({ outcome }) as RunDigest['decisions'][number];
  it.each([
    ['acted', 'completed', true, [decision('acted')]],
    ['a failed action', 'completed', true, [decision('failed')]],
    ['a pending approval', 'completed', true, [decision('awaiting_approval')]],
    ['a failed run', 'failed', true, []],
    ['dry-run would_act only', 'completed', false, [decision('would_act')]],
    ['no data only', 'completed', false, [decision('data_unavailable')]],
    ['nothing', 'completed', false, []],
    ['a duplicate delivery', 'skipped_duplicate', false, []],
  ] as const)('%s (run %s) → due: %s', (_name, status, due, decisions) => {
    expect(digestDue({ summary: { ...base, status }, decisions: [...decisions] })).toBe(due);
  });

  it('old run summaries without notifications still parse (none recorded)', () => {
    const { notifications: _n, ...old } = base;
    expect(runSummarySchema.parse(old).notifications).toEqual([]);
  });
});

describe('webhook addresses', () => {
  it.each([
    ['https anywhere', 'https://hooks.slack.com/services/T/B/x', false, true],
    ['http to 127.0.0.1 locally', 'http://127.0.0.1:9000/hook', true, true],
    ['http to localhost locally', 'http://localhost:9000/hook', true, true],
    ['http to loopback on AWS', 'http://127.0.0.1:9000/hook', false, false],
    ['http elsewhere', 'http://hooks.example.com/hook', true, false],
    ['another scheme', 'ftp://hooks.example.com/hook', true, false],
    ['a user and password', 'https://me:pw@hooks.example.com/hook', true, false],
    ['a user name alone', 'https://me@hooks.example.com/hook', true, false],
  ])('%s', (_name, raw, allowLoopbackHttp, ok) => {
    const parse = (): URL => webhookUrl(raw, { variable: 'THRAD_RULES_WEBHOOK_URL', allowLoopbackHttp });
    if (ok) expect(parse().href).toBe(new URL(raw).href);
    else expect(parse).toThrow(WebhookConfigError);
  });

  it('an address with a user and password is refused at start, naming the host but never the password', () => {
    const load = (): unknown => loadConfig({}, { THRAD_RULES_WEBHOOK_URL: 'https://me:hunter2@hooks.example.com/services/T/B/secretpath' }, '/tmp');
    expect(load).toThrow("THRAD_RULES_WEBHOOK_URL must not carry a user name or password (…@hooks.example.com): webhooks are sent without them; use the receiver's secret URL (a Slack incoming webhook's path is its secret).");
    expect(load).not.toThrow(/hunter2|secretpath/);
  });

  it('a plain-http address elsewhere is refused by the local config, naming the variable and the host but not the path', () => {
    const load = (): unknown => loadConfig({}, { THRAD_RULES_WEBHOOK_URL: 'http://hooks.example.com/services/T/B/secretpath' }, '/tmp');
    expect(load).toThrow(ConfigError);
    expect(load).toThrow('THRAD_RULES_WEBHOOK_URL must be an https:// URL (plain http:// only to 127.0.0.1 or localhost, for testing); found a http:// URL to hooks.example.com.');
    expect(loadConfig({}, { THRAD_RULES_WEBHOOK_URL: 'http://127.0.0.1:8080/hook' }, '/tmp').webhookUrl?.href).toBe('http://127.0.0.1:8080/hook');
    expect(loadConfig({}, {}, '/tmp').webhookUrl).toBeUndefined();
  });

  describe('from Secrets Manager', () => {
    const secrets = mockClient(SecretsManagerClient);
    beforeEach(() => secrets.reset());
    const client = new SecretsManagerClient({ region: 'us-east-1' });

    it('reads the URL (plain or JSON), caches it, and refuses plain http', async () => {
      secrets.on(GetSecretValueCommand, { SecretId: 'thrad-rules/webhook' }).resolvesOnce({ SecretString: 'https://hooks.slack.com/services/T/B/one' }).resolves({ SecretString: '{"url": "https://hooks.slack.com/services/T/B/two"}' });
      const clock = new ManualClock(T0);
      const address = new SecretWebhookAddress({ secretId: 'thrad-rules/webhook', client, clock, cacheTtlMs: 60_000 });
      expect((await address.url()).href).toBe('https://hooks.slack.com/services/T/B/one');
      expect((await address.url()).href).toBe('https://hooks.slack.com/services/T/B/one');
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
      clock.advance(61_000);
      expect((await address.url()).href).toBe('https://hooks.slack.com/services/T/B/two');
      secrets.on(GetSecretValueCommand, { SecretId: 'plain' }).resolves({ SecretString: 'http://127.0.0.1:9/hook' });
      await expect(new SecretWebhookAddress({ secretId: 'plain', client }).url()).rejects.toThrow(WebhookConfigError);
    });

    it('a secret without a value is a failed notification, not a failed run', async () => {
      secrets.on(GetSecretValueCommand).resolves({ SecretString: '' });
      const channel = new WebhookChannel({ address: new SecretWebhookAddress({ secretId: 'empty', client }), sleep: recordingSleep() });
      const record = await channel.send({ kind: 'digest', subject: 's', body: 'b', slack: { text: 's', blocks: [] } }, { deadlineMs: deadline() });
      expect(record).toMatchObject({ status: 'failed', attempts: 0, error: expect.stringContaining(`${new WebhookUnavailableError('x').name}: the webhook secret empty`) as unknown });
    });
  });
});

describe('Slack payload', () => {
  it('has a text fallback and mrkdwn sections, escaped, within Slack\'s limits', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `paused campaign "<Shoes & Socks> ${i}" ${'x'.repeat(100)}`);
    const payload = slackPayload({ kind: 'digest', subject: 'Thrad autopilot: 60 actions (run r)', intro: 'Run r.', lines, notes: ['! code: message'] });
    // The fallback text is escaped as the blocks are: Slack formats it too (a name "<!channel>" would ping everyone).
    expect(payload.text.startsWith('Thrad autopilot: 60 actions (run r)\nRun r.\n- paused campaign "&lt;Shoes &amp; Socks&gt; 0"')).toBe(true);
    expect(slackPayload({ kind: 'digest', subject: 's', intro: 'i', lines: ['paused campaign "<!channel> <https://x.example|click>"'], notes: [] }).text).not.toMatch(/<!channel>|<https:/);
    expect(payload.blocks.length).toBeLessThanOrEqual(50);
    expect(payload.blocks.every((b) => b.type === 'section' && b.text.type === 'mrkdwn' && b.text.text.length <= 3000)).toBe(true);
    const all = payload.blocks.map((b) => b.text.text).join('\n');
    expect(all).toContain('• paused campaign "&lt;Shoes &amp; Socks&gt; 59"');
    expect(all).not.toContain('<Shoes');
    expect(payload.blocks.at(-1)?.text.text).toBe('! code: message');
  });
});
