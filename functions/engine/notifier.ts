// Notifications: what a run tells people, worded once, sent on every configured channel (SNS and
// a webhook, Slack-compatible, either or both).
//
//   digest         one per run that acted, failed, or has proposals awaiting approval (digestDue);
//                  nothing for a run that did none of these (only no_match, already_in_state,
//                  skips, repeats, dry-run would_act or data_unavailable). A digest lists every
//                  noteworthy decision of the run, dry-run and no-data lines included.
//   failure alert  sent the moment a failure is recorded (a failed action, a run that stopped with
//                  an error), while the run goes on; at most MAX_FAILURE_ALERTS per run. The run's
//                  digest follows at its end and lists the failures again with everything else.
//
// Every text is scrubbed of anything shaped like an API key before it leaves. A channel never
// throws: what it sent, or why not, is returned and recorded in the run summary, and a failed
// notification never fails the run.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DecisionRecord, NotificationChannelName, NotificationRecord, Outcome, RunSummary } from '../audit/records';
import { plainBody, slackPayload, type MessageContent, type SlackPayload } from '../notify/slack';
import { redactKeys } from '../shared/secrets';
import { describeDecision } from './describe';
import { silentLogger, type EngineLogger } from './logger';

export interface RunDigest {
  summary: RunSummary;
  /** Acted, would-act and failed decisions (and data_unavailable per rule). */
  decisions: DecisionRecord[];
  /** The organization the run served, when the deployment serves several (its registry name). */
  org_id?: string;
}

/** A failure, as it is recorded (and the organization it is of, when the deployment serves several). */
export type FailureAlert = (
  | { kind: 'action_failed'; record: DecisionRecord }
  | { kind: 'run_failed'; run_id: string; scheduled_time: string; error: RunSummary['errors'][number] }
) & { org_id?: string };

export interface SendOptions {
  /** Real-time Unix ms by which the run must be done: no retry waits past it. */
  deadlineMs: number;
}

export interface Notifier {
  /** The run's digest, at its end; what was sent on each channel (nothing when no digest is due). */
  notify(digest: RunDigest, options: SendOptions): Promise<NotificationRecord[]>;
  /** A failure, the moment it is recorded (notifiers without immediate alerts leave it out). */
  alert?(alert: FailureAlert, options: SendOptions): Promise<NotificationRecord[]>;
}

/** A message shaped for every channel: subject and plain body (SNS, logs), Slack payload (webhook). */
export interface OutgoingMessage {
  kind: MessageContent['kind'];
  subject: string;
  body: string;
  slack: SlackPayload;
}

/** One way out. `send` never rejects: a failure is a `failed` record. */
export interface NotificationChannel {
  readonly name: NotificationChannelName;
  send(message: OutgoingMessage, options: SendOptions): Promise<NotificationRecord>;
}

/** What makes a run worth a digest. */
const DIGEST_OUTCOMES: ReadonlySet<string> = new Set<Outcome>(['acted', 'failed', 'awaiting_approval']);
/** The lines a digest lists. */
const NOTEWORTHY: ReadonlySet<string> = new Set<Outcome>(['acted', 'would_act', 'failed', 'data_unavailable', 'awaiting_approval']);
const MAX_LINES = 50;
/** Immediate failure alerts per run; further failures are in the digest only. */
export const MAX_FAILURE_ALERTS = 3;

/** Whether a run gets a digest: it acted, failed (a failed action, or the run itself), or has proposals awaiting approval. */
export function digestDue(digest: RunDigest): boolean {
  return digest.summary.status === 'failed' || digest.decisions.some((d) => DIGEST_OUTCOMES.has(d.outcome));
}

const errorLine = (e: RunSummary['errors'][number]): string => `! ${e.rule_id ? `${e.rule_id}: ` : ''}${e.code}: ${e.message}`;

/**
 * Whose run a message is about. With several organizations on one channel, a message must say
 * which one (its subject) and its commands must name it: `thrad-rules audit --run X` alone asks
 * which org, or reads another account.
 */
function whose(orgId: string | undefined, accountId: string): { tag: string; of: string; flag: string } {
  return orgId === undefined ? { tag: '', of: ` of ad account ${accountId}`, flag: '' } : { tag: ` [${orgId}]`, of: ` of organization ${orgId} (ad account ${accountId})`, flag: ` --org ${orgId}` };
}
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The digest's words: a subject, the run line, one line per noteworthy decision, the errors and hints. */
export function digestContent(digest: RunDigest): MessageContent | null {
  const noteworthy = digest.decisions.filter((d) => NOTEWORTHY.has(d.outcome));
  if (noteworthy.length === 0 && digest.summary.errors.length === 0) return null;
  const { summary } = digest;
  const who = whose(digest.org_id, summary.account_id);
  const count = (outcome: Outcome): number => digest.decisions.filter((d) => d.outcome === outcome).length;
  const awaiting = count('awaiting_approval');
  const parts = [
    count('acted') && plural(count('acted'), 'action'),
    count('would_act') && `${count('would_act')} dry-run`,
    count('failed') && `${count('failed')} failed`,
    count('data_unavailable') && `${plural(count('data_unavailable'), 'rule')} without data`,
    awaiting && `${awaiting} awaiting approval`,
  ].filter(Boolean);
  return {
    kind: 'digest',
    subject: `Thrad autopilot${who.tag}: ${parts.join(', ') || 'errors'} (run ${summary.run_id})`.slice(0, 100),
    intro: `Run ${summary.run_id}${who.of} for occurrence ${summary.scheduled_time}, ${summary.duration_ms} ms, ${summary.api_requests} API requests.`,
    lines: [
      ...noteworthy.slice(0, MAX_LINES).map(describeDecision),
      ...(noteworthy.length > MAX_LINES ? [`… and ${noteworthy.length - MAX_LINES} more (thrad-rules audit${who.flag} --run ${summary.run_id})`] : []),
    ],
    notes: [
      ...summary.errors.map(errorLine),
      ...(awaiting > 0 ? [`${awaiting === 1 ? '1 proposal awaits' : `${awaiting} proposals await`} approval: thrad-rules approvals${who.flag}, then thrad-rules approve${who.flag} <decision_id> or reject${who.flag} <decision_id>.`] : []),
    ],
  };
}

/** The digest as text: a subject and one line per noteworthy decision. */
export function formatDigest(digest: RunDigest): { subject: string; body: string } | null {
  const content = digestContent(digest);
  return content ? { subject: content.subject, body: plainBody(content) } : null;
}

/** A failure alert's words. */
export function alertContent(alert: FailureAlert): MessageContent {
  if (alert.kind === 'action_failed') {
    const d = alert.record;
    const who = whose(alert.org_id, d.account_id);
    return {
      kind: 'failure_alert',
      subject: `Thrad autopilot${who.tag}: FAILED to ${d.action ?? 'act on'} ${d.level} "${d.entity_name}" (run ${d.run_id})`.slice(0, 100),
      intro: `Run ${d.run_id}${who.of} for occurrence ${d.scheduled_time}: an action failed. The run goes on; its digest follows when it ends.`,
      lines: [describeDecision(d)],
      notes: [`Details: thrad-rules audit${who.flag} --run ${d.run_id} --outcome failed`],
    };
  }
  const tag = alert.org_id === undefined ? '' : ` [${alert.org_id}]`;
  return {
    kind: 'failure_alert',
    subject: `Thrad autopilot${tag}: run ${alert.run_id} FAILED`.slice(0, 100),
    intro: `Run ${alert.run_id}${alert.org_id === undefined ? '' : ` of organization ${alert.org_id}`} for occurrence ${alert.scheduled_time} stopped with an error; its digest follows.`,
    lines: [],
    notes: [errorLine(alert.error)],
  };
}

/** Every text scrubbed of key-shaped tokens, then shaped for the channels. */
export function outgoing(content: MessageContent): OutgoingMessage {
  const clean: MessageContent = { kind: content.kind, subject: redactKeys(content.subject), intro: redactKeys(content.intro), lines: content.lines.map(redactKeys), notes: content.notes.map(redactKeys) };
  return { kind: clean.kind, subject: clean.subject, body: plainBody(clean), slack: slackPayload(clean) };
}

/** A channel's failure as a record: the error's name and message, scrubbed. */
export function failedRecord(channel: NotificationChannelName, kind: OutgoingMessage['kind'], attempts: number, error: string, httpStatus: number | null = null): NotificationRecord {
  return { channel, kind, status: 'failed', attempts, http_status: httpStatus, error: redactKeys(error).slice(0, 500) };
}

/** The engine's notifier: digests and failure alerts to every channel at once. */
export class ChannelNotifier implements Notifier {
  constructor(
    private readonly channels: readonly NotificationChannel[],
    private readonly logger: EngineLogger = silentLogger,
  ) {}

  notify(digest: RunDigest, options: SendOptions): Promise<NotificationRecord[]> {
    const content = digestDue(digest) ? digestContent(digest) : null;
    return content ? this.send(outgoing(content), options) : Promise.resolve([]);
  }

  alert(alert: FailureAlert, options: SendOptions): Promise<NotificationRecord[]> {
    return this.send(outgoing(alertContent(alert)), options);
  }

  private async send(message: OutgoingMessage, options: SendOptions): Promise<NotificationRecord[]> {
    const records = await Promise.all(
      this.channels.map((channel) => channel.send(message, options).catch((error: unknown) => failedRecord(channel.name, message.kind, 0, error instanceof Error ? `${error.name}: ${error.message}` : String(error)))),
    );
    for (const r of records) if (r.status === 'failed') this.logger.warn('notification not sent', { channel: r.channel, kind: r.kind, attempts: r.attempts, http_status: r.http_status, error: r.error });
    return records;
  }
}

/** The SNS topic (email subscribers, and the alarms' topic). */
export class SnsChannel implements NotificationChannel {
  readonly name = 'sns' as const;
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(message: OutgoingMessage): Promise<NotificationRecord> {
    try {
      const output = await this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: message.subject.replace(/[^\x20-\x7e]/g, '-'), Message: message.body.slice(0, 250_000) }));
      return { channel: this.name, kind: message.kind, status: 'sent', attempts: output.$metadata.attempts ?? 1, http_status: output.$metadata.httpStatusCode ?? null, error: null };
    } catch (error) {
      const metadata = (error as { $metadata?: { attempts?: number; httpStatusCode?: number } }).$metadata;
      return failedRecord(this.name, message.kind, metadata?.attempts ?? 1, error instanceof Error ? `${error.name}: ${error.message}` : String(error), metadata?.httpStatusCode ?? null);
    }
  }
}

/** Digests as log lines (the worker without a topic). */
export class ConsoleNotifier implements Notifier {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}
  notify(digest: RunDigest): Promise<NotificationRecord[]> {
    const text = formatDigest(digest);
    if (text) this.write(redactKeys(`${text.subject}\n${text.body}`));
    return Promise.resolve([]);
  }
}

/** Collects every digest and alert the engine hands over, due or not (tests, and the CLI's quiet mode). */
export class MemoryNotifier implements Notifier {
  readonly digests: RunDigest[] = [];
  readonly alerts: FailureAlert[] = [];
  notify(digest: RunDigest): Promise<NotificationRecord[]> {
    this.digests.push(digest);
    return Promise.resolve([]);
  }
  alert(alert: FailureAlert): Promise<NotificationRecord[]> {
    this.alerts.push(alert);
    return Promise.resolve([]);
  }
}

/** No notifications at all. */
export const noNotifications: Notifier = { notify: () => Promise.resolve([]) };
