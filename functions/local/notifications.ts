// The local runner's notifications: the webhook in THRAD_RULES_WEBHOOK_URL (Slack-compatible;
// http only to this machine), or none. Nothing is sent to SNS from a laptop.
import type { RunSummary } from '../audit/records';
import { ChannelNotifier, noNotifications, type Notifier } from '../engine/notifier';
import { StaticWebhookAddress, WebhookChannel } from '../notify/webhook';
import type { LocalConfig } from './config';

export function localNotifier(config: Pick<LocalConfig, 'webhookUrl'>, options: { fetch?: typeof fetch } = {}): Notifier {
  if (!config.webhookUrl) return noNotifications;
  return new ChannelNotifier([new WebhookChannel({ address: new StaticWebhookAddress(config.webhookUrl), fetch: options.fetch })]);
}

/** One line per notification the run could not send (they never fail the run). */
export function notificationProblems(summary: RunSummary): string[] {
  return summary.notifications.filter((n) => n.status === 'failed').map((n) => `  ${n.channel} ${n.kind === 'digest' ? 'digest' : 'failure alert'} not sent (${n.attempts} attempt${n.attempts === 1 ? '' : 's'}): ${n.error ?? 'unknown error'}`);
}
