// The worker Lambda: the SQS FIFO tick queue's consumer. One message = one org, one tick, every
// rule of that org due at it → one engine cycle, so coincident schedules share one list and one
// read per window, claimed per (org, tick): a redelivered message does nothing twice.
//
// Before it runs, the worker re-reads the org's registry entry (a disabled or removed org does
// nothing, even for a message queued before), skips a tick older than its rules' shortest period
// (recorded `skipped_stale` under the org's account), and uses only keys that answered for the
// org's ad account (each key checked once, per warm container, before its first use): another
// org's key would act on another org's campaigns. Each org has its own engine (cached per warm container): its
// key from its own Secrets Manager secret, its ad account (its records' prefix), and so its own
// request ledger (the ledger is keyed by account and key fingerprint).
//
// One org's failure (a revoked key, its API down) fails only its message: it is retried and then
// dead-lettered, and holds up only its own message group. A message that is not a tick is never
// acted on; it fails until it reaches the dead-letter queue.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { maxChangeFractionFrom, MAX_CHANGE_PERCENT_ENV } from '../actions/limits';
import { Engine } from '../engine/cycle';
import { errorAttributes } from '../engine/logger';
import { ChannelNotifier, ConsoleNotifier, SnsChannel, type NotificationChannel, type Notifier } from '../engine/notifier';
import { SecretWebhookAddress, WebhookChannel, WEBHOOK_SECRET_ENV } from '../notify/webhook';
import { recordStaleOccurrence } from '../engine/skipped';
import { TICK_SCHEDULE_ID } from '../orgs/plan';
import type { OrgEntry } from '../orgs/schema';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile';
import { scheduleGroups, type ScheduleGroup } from '../rules/groups';
import { RequestBudget } from '../thrad/budget';
import { ThradClient } from '../thrad/client';
import { keyFingerprint } from '../shared/secrets';
import { SecretsManagerApiKeyProvider, StaticApiKeyProvider, type ApiKeyProvider } from '../thrad/keys';
import { WIRE_PROFILE_ENV, WIRE_PROFILE_NAMES, wireProfileNamed, type WireProfile } from '../thrad/wire';
import { HandlerConfigError, InvalidTickMessageError, KeyAccountMismatchError, RunFailedError } from './errors';
import { baseRuntime, bundledRules, engineLogger, publishCompletedRuns, publishCycleMetrics, SAFETY_MARGIN_MS, secretOutsidePrefix, type BaseRuntime, type HandlerContext, type HandlerOverrides } from './runtime';
import { RUN_FAILURES_METRIC } from './telemetry';
import { parseTickMessage, type TickMessage } from './tick';

/** The part of an SQS event record the worker reads. */
export interface TickRecord {
  messageId: string;
  body: string;
  attributes: { MessageGroupId?: string; ApproximateReceiveCount?: string };
}
export interface TickEvent {
  Records: TickRecord[];
}
/** `reportBatchItemFailures`: the messages to retry. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** What happened to one message (for logs and tests). */
export type TickOutcome =
  | { kind: 'ran'; org_id: string; run_id: string; status: string; counts: Record<string, number> }
  | { kind: 'skipped_stale'; org_id: string; run_id: string }
  | { kind: 'not_served'; org_id: string; reason: string }
  | { kind: 'failed'; org_id: string | null; error: string };

interface OrgRuntime {
  /** What the engine was built from: a changed entry builds a new one. */
  fingerprint: string;
  org: OrgEntry;
  keys: AccountBoundKeyProvider;
  client: ThradClient;
  engine: Engine | undefined;
}

/**
 * The org's key provider, bound to its ad account: every key it hands out (the first, one read
 * again after its cache expires, one re-read after a 401) has answered GET /ad_account for the
 * org's account before anything uses it, so a secret that now holds another organization's key is
 * refused (KeyAccountMismatchError), never used to act. For a default org without a known account,
 * the first key's account becomes the one every later key must answer for.
 */
class AccountBoundKeyProvider implements ApiKeyProvider {
  readonly source: string;
  private readonly verified = new Set<string>();
  constructor(
    private readonly inner: ApiKeyProvider,
    private readonly orgId: string,
    public accountId: string | undefined,
    private readonly accountOf: (key: string) => Promise<string>,
  ) {
    this.source = inner.source;
  }

  async getKey(): Promise<string> {
    return this.bound(await this.inner.getKey());
  }

  async refresh(): Promise<string> {
    return this.bound(await this.inner.refresh());
  }

  private async bound(key: string): Promise<string> {
    const fp = keyFingerprint(key);
    if (this.verified.has(fp) && this.accountId !== undefined) return key;
    const keyAccount = await this.accountOf(key);
    if (this.accountId !== undefined && keyAccount !== this.accountId) throw new KeyAccountMismatchError(this.orgId, this.accountId, keyAccount, this.inner.source);
    this.accountId = keyAccount;
    this.verified.add(fp);
    return key;
  }
}

interface WorkerRuntime extends BaseRuntime {
  rules: CompiledRuleSet;
  /** The rule set's schedule groups (the same ids as the stack's RuleDidNotRun alarms). */
  groups: ScheduleGroup[];
  wireProfile: WireProfile;
  maxChangeFraction: number;
  notifier: Notifier;
  secrets: SecretsManagerClient;
  orgs: Map<string, OrgRuntime>;
}

function buildRuntime(overrides: HandlerOverrides): WorkerRuntime {
  const base = baseRuntime(overrides);
  const { env, logger } = base;
  const wireProfile = wireProfileNamed(env[WIRE_PROFILE_ENV]);
  if (!wireProfile) throw new HandlerConfigError(`${WIRE_PROFILE_ENV} must be one of ${WIRE_PROFILE_NAMES.join(', ')} (got "${env[WIRE_PROFILE_ENV] ?? ''}").`);
  const limit = maxChangeFractionFrom(env[MAX_CHANGE_PERCENT_ENV]);
  if ('error' in limit) throw new HandlerConfigError(`${limit.error}.`);
  const secrets = overrides.secrets ?? new SecretsManagerClient({});
  const loaded = bundledRules(env, logger);
  return { ...base, rules: compileRuleSet(loaded), groups: scheduleGroups(loaded.map((r) => r.rule)), wireProfile, maxChangeFraction: limit.fraction, notifier: notifierFor(base, secrets, overrides), secrets, orgs: new Map() };
}

/** SNS (NOTIFY_TOPIC_ARN) and the webhook whose address is in THRAD_RULES_WEBHOOK_SECRET_ID, either or both; else the digest is logged. */
function notifierFor(base: BaseRuntime, secrets: SecretsManagerClient, overrides: HandlerOverrides): Notifier {
  const { env, logger, clock } = base;
  const channels: NotificationChannel[] = [];
  if (env.NOTIFY_TOPIC_ARN) channels.push(new SnsChannel(overrides.sns ?? new SNSClient({}), env.NOTIFY_TOPIC_ARN));
  const webhookSecret = env[WEBHOOK_SECRET_ENV]?.trim();
  if (webhookSecret) channels.push(new WebhookChannel({ address: new SecretWebhookAddress({ secretId: webhookSecret, client: secrets, clock }), fetch: overrides.webhookFetch, sleep: overrides.sleep }));
  return channels.length > 0 ? new ChannelNotifier(channels, engineLogger(logger)) : new ConsoleNotifier((line) => logger.info('digest', { digest: line }));
}

/** The org's entry as the registry has it now (or the deployment's default org), or why it is not served. */
async function currentEntry(rt: WorkerRuntime, message: TickMessage): Promise<OrgEntry | { notServed: string }> {
  const registered = message.ad_account_id !== undefined ? await rt.registry.byAccount(message.ad_account_id) : null;
  if (registered && registered.org_id === message.org_id) {
    if (!registered.enabled) return { notServed: 'the organization is disabled in the registry' };
    const outside = secretOutsidePrefix(registered, rt);
    return outside ? { notServed: outside } : registered;
  }
  const fallback = rt.defaultOrg;
  if (fallback && fallback.org_id === message.org_id && (fallback.ad_account_id === undefined || fallback.ad_account_id === message.ad_account_id)) {
    // The registry's own entry for the default org (by name) wins over the deployment's.
    if (!registered && (await rt.registry.byId(fallback.org_id)) === null) return fallback;
  }
  return { notServed: registered ? `ad account ${message.ad_account_id ?? '?'} is now served by "${registered.org_id}"` : 'the organization is no longer in the registry' };
}

function orgRuntime(rt: WorkerRuntime, org: OrgEntry, overrides: HandlerOverrides, deadlineMs: () => number): OrgRuntime {
  const fingerprint = `${org.api_key_secret_id ?? ''}|${org.ad_account_id ?? ''}`;
  const cached = rt.orgs.get(org.org_id);
  if (cached && cached.fingerprint === fingerprint) {
    cached.org = org;
    return cached;
  }
  const secretId = org.api_key_secret_id;
  if (secretId === undefined) throw new HandlerConfigError(`Organization "${org.org_id}" has no api_key_secret_id.`);
  const { env, logger, clock } = rt;
  const options = { baseUrl: env.THRAD_API_BASE_URL, wireProfile: rt.wireProfile, clock, fetch: overrides.fetch };
  const secret = new SecretsManagerApiKeyProvider({ secretId, client: rt.secrets, cacheTtlMs: Number(env.THRAD_API_KEY_CACHE_TTL_MS ?? 300_000) });
  // The check is made with that key alone, and counted in the org's request budget.
  const budget = new RequestBudget(clock);
  const accountOf = async (key: string): Promise<string> => (await new ThradClient({ ...options, budget, keyProvider: new StaticApiKeyProvider(key) }).getAdAccount({ deadlineMs: deadlineMs() })).id;
  const keys = new AccountBoundKeyProvider(secret, org.org_id, org.ad_account_id, accountOf);
  const client = new ThradClient({ ...options, budget, keyProvider: keys, onEvent: (event) => logger.debug('thrad api', { ...event, org_id: org.org_id }) });
  const created: OrgRuntime = { fingerprint, org, keys, client, engine: undefined };
  rt.orgs.set(org.org_id, created);
  return created;
}

/** The org's engine, once the key its secret holds now is known to answer for its ad account. */
async function verifiedEngine(rt: WorkerRuntime, o: OrgRuntime): Promise<{ engine: Engine; accountId: string }> {
  await o.keys.getKey();
  const accountId = o.keys.accountId;
  if (accountId === undefined) throw new HandlerConfigError(`Organization "${o.org.org_id}": no ad account after its key was checked.`);
  o.engine ??= new Engine({ client: o.client, store: rt.store, rules: rt.rules, notifier: rt.notifier, logger: engineLogger(rt.logger), clock: rt.clock, accountId, maxChangeFraction: rt.maxChangeFraction });
  return { engine: o.engine, accountId };
}

async function runTick(rt: WorkerRuntime, record: TickRecord, context: HandlerContext, overrides: HandlerOverrides): Promise<TickOutcome> {
  const { logger, metrics } = rt;
  const message = parseTickMessage(record.messageId, record.body, record.attributes.MessageGroupId);
  const tickMs = Date.parse(message.tick);
  logger.appendKeys({ org_id: message.org_id, tick: message.tick, message_id: record.messageId, receive_count: record.attributes.ApproximateReceiveCount });
  metrics.addMetadata('org_id', message.org_id);
  const entry = await currentEntry(rt, message);
  if ('notServed' in entry) {
    logger.warn('tick not run: the organization is not served', { reason: entry.notServed });
    metrics.addMetric('TicksNotServed', MetricUnit.Count, 1);
    return { kind: 'not_served', org_id: message.org_id, reason: entry.notServed };
  }
  const deadlineMs = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
  const o = orgRuntime(rt, entry, overrides, () => deadlineMs);
  const nowMs = rt.clock.nowMs();
  const ageMs = nowMs - tickMs;
  if (ageMs > message.period_seconds * 1000) {
    // A tick run later than its rules' shortest period acts on an occurrence the next one replaces.
    const accountId = o.keys.accountId ?? (await verifiedEngine(rt, o)).accountId;
    const summary = await recordStaleOccurrence(rt.store, { accountId, scheduleId: TICK_SCHEDULE_ID, scheduledMs: tickMs, ruleIds: message.rule_ids, trigger: 'schedule', nowMs, message: `Delivered ${Math.round(ageMs / 1000)} s after its tick, more than the shortest period of its rules (${message.period_seconds} s); skipped` });
    logger.warn('skipped a stale tick', { age_seconds: Math.round(ageMs / 1000), period_seconds: message.period_seconds });
    metrics.addMetric('StaleDeliveries', MetricUnit.Count, 1);
    return { kind: 'skipped_stale', org_id: message.org_id, run_id: summary.run_id };
  }
  const { engine } = await verifiedEngine(rt, o);
  const { summary } = await engine.runCycle({ ruleIds: message.rule_ids, scheduledTime: tickMs, scheduleId: TICK_SCHEDULE_ID, deadlineMs, trigger: 'schedule' });
  publishCycleMetrics(metrics, summary);
  publishCompletedRuns(metrics, summary, rt.groups);
  // A run that could not work fails its message: it is retried (the claim is taken over), then dead-lettered.
  if (summary.status === 'failed') throw new RunFailedError(summary.run_id, summary.errors);
  return { kind: 'ran', org_id: message.org_id, run_id: summary.run_id, status: summary.status, counts: summary.counts };
}

export interface WorkerHandler {
  (event: TickEvent, context: HandlerContext): Promise<BatchResponse>;
  /** Every message's outcome of the last invocation, in order (for tests and logs). */
  lastOutcomes: TickOutcome[];
}

export function createWorkerHandler(overrides: HandlerOverrides = {}): WorkerHandler {
  let runtime: WorkerRuntime | undefined;
  const handler = (async (event, context) => {
    runtime ??= buildRuntime(overrides);
    const rt = runtime;
    const failures: { itemIdentifier: string }[] = [];
    const outcomes: TickOutcome[] = [];
    for (const record of event.Records) {
      if (failures.length > 0) {
        // FIFO: once a message fails, the later ones (of its group, in order) must wait for it.
        failures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        const outcome = await runTick(rt, record, context, overrides);
        outcomes.push(outcome);
      } catch (error) {
        const orgId = record.attributes.MessageGroupId ?? null;
        if (error instanceof InvalidTickMessageError) rt.logger.error('rejected a message that is not a tick; it goes to the dead-letter queue after its retries', { message_id: record.messageId, problems: error.problems });
        else rt.logger.error('tick failed', { org_id: orgId, ...errorAttributes(error) });
        rt.metrics.addMetric(RUN_FAILURES_METRIC, MetricUnit.Count, 1);
        outcomes.push({ kind: 'failed', org_id: orgId, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        failures.push({ itemIdentifier: record.messageId });
      } finally {
        rt.metrics.publishStoredMetrics();
        rt.logger.resetKeys();
      }
    }
    handler.lastOutcomes = outcomes;
    return { batchItemFailures: failures };
  }) as WorkerHandler;
  handler.lastOutcomes = [];
  return handler;
}

export const handler = createWorkerHandler();
