// Notifications: one digest per run with a concise line per action and per failure, sent to SNS
// on AWS and printed locally. Nothing is sent for a run that did and failed nothing.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DecisionRecord, RunSummary } from '../audit/records';
import { describeDecision } from './describe';

export interface RunDigest {
  summary: RunSummary;
  /** Acted, would-act and failed decisions (and data_unavailable per rule). */
  decisions: DecisionRecord[];
}

export interface Notifier {
  notify(digest: RunDigest): Promise<void>;
}

const NOTEWORTHY = new Set(['acted', 'would_act', 'failed', 'data_unavailable', 'awaiting_approval']);
const MAX_LINES = 50;

/** The digest as text: a subject and one line per noteworthy decision. */
export function formatDigest(digest: RunDigest): { subject: string; body: string } | null {
  const lines = digest.decisions.filter((d) => NOTEWORTHY.has(d.outcome));
  if (lines.length === 0 && digest.summary.errors.length === 0) return null;
  const count = (outcome: string): number => digest.decisions.filter((d) => d.outcome === outcome).length;
  const parts = [
    count('acted') && `${count('acted')} action${count('acted') === 1 ? '' : 's'}`,
    count('would_act') && `${count('would_act')} dry-run`,
    count('failed') && `${count('failed')} failed`,
    count('data_unavailable') && `${count('data_unavailable')} rule${count('data_unavailable') === 1 ? '' : 's'} without data`,
    count('awaiting_approval') && `${count('awaiting_approval')} awaiting approval`,
  ].filter(Boolean);
  const subject = `Thrad autopilot: ${parts.join(', ') || 'errors'} (run ${digest.summary.run_id})`;
  const body = [
    `Run ${digest.summary.run_id} for occurrence ${digest.summary.scheduled_time}, ${digest.summary.duration_ms} ms, ${digest.summary.api_requests} API requests.`,
    ...lines.slice(0, MAX_LINES).map((d) => `- ${describeDecision(d)}`),
    ...(lines.length > MAX_LINES ? [`- … and ${lines.length - MAX_LINES} more (thrad-rules audit --run ${digest.summary.run_id})`] : []),
    ...digest.summary.errors.map((e) => `! ${e.rule_id ? `${e.rule_id}: ` : ''}${e.code}: ${e.message}`),
    ...(count('awaiting_approval') > 0 ? [`${count('awaiting_approval') === 1 ? '1 proposal awaits' : `${count('awaiting_approval')} proposals await`} approval: thrad-rules approvals, then thrad-rules approve <decision_id> or reject <decision_id>.`] : []),
  ].join('\n');
  return { subject: subject.slice(0, 100), body };
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async notify(digest: RunDigest): Promise<void> {
    const text = formatDigest(digest);
    if (!text) return;
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: text.subject.replace(/[^\x20-\x7e]/g, '-'), Message: text.body.slice(0, 250_000) }));
  }
}

export class ConsoleNotifier implements Notifier {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}
  notify(digest: RunDigest): Promise<void> {
    const text = formatDigest(digest);
    if (text) this.write(`${text.subject}\n${text.body}`);
    return Promise.resolve();
  }
}

/** Collects digests (tests, and the CLI's quiet mode). */
export class MemoryNotifier implements Notifier {
  readonly digests: RunDigest[] = [];
  notify(digest: RunDigest): Promise<void> {
    this.digests.push(digest);
    return Promise.resolve();
  }
}
