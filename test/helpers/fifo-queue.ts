// An in-process SQS FIFO queue behind the real SQSClient (aws-sdk-client-mock answers its
// SendMessageBatch): deduplication by MessageDeduplicationId within SQS's 5-minute window, order
// kept per MessageGroupId, entries that fail on demand. No SQS server runs here; this is what the
// planner's sends and the worker's records are checked against.
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../functions/shared/clock';
import type { TickEvent, TickRecord } from '../../functions/handlers/worker';

export const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

export interface QueuedMessage {
  messageId: string;
  body: string;
  groupId: string;
  deduplicationId: string;
  sentAtMs: number;
}

export class FakeFifoQueue {
  readonly client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  readonly mock = mockClient(SQSClient);
  /** Messages not yet taken, in the order they were accepted. */
  private queued: QueuedMessage[] = [];
  private readonly seen = new Map<string, number>();
  private nextId = 1;
  /** SendMessageBatch calls received. */
  calls: SendMessageBatchCommandInput[] = [];
  /** Groups whose entries fail, and how many more times (Infinity: always). */
  readonly failing = new Map<string, { times: number; code: string; senderFault: boolean }>();

  constructor(private readonly clock: Clock) {
    this.mock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => this.sendBatch(input));
  }

  private sendBatch(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
    this.calls.push(input);
    const entries = input.Entries ?? [];
    if (entries.length === 0 || entries.length > 10) throw Object.assign(new Error('batch of 1 to 10 entries'), { name: entries.length ? 'TooManyEntriesInBatchRequest' : 'EmptyBatchRequest' });
    const output: SendMessageBatchCommandOutput = { Successful: [], Failed: [], $metadata: {} };
    const now = this.clock.nowMs();
    for (const entry of entries) {
      const groupId = entry.MessageGroupId ?? '';
      const dedup = entry.MessageDeduplicationId ?? '';
      const fault = this.failing.get(groupId);
      if (fault && fault.times > 0) {
        fault.times -= 1;
        output.Failed?.push({ Id: entry.Id, Code: fault.code, SenderFault: fault.senderFault, Message: `injected ${fault.code}` });
        continue;
      }
      if (!groupId || !dedup) {
        output.Failed?.push({ Id: entry.Id, Code: 'MissingParameter', SenderFault: true, Message: 'FIFO needs MessageGroupId and MessageDeduplicationId' });
        continue;
      }
      const messageId = `msg-${this.nextId++}`;
      const seenAt = this.seen.get(dedup);
      if (seenAt === undefined || now - seenAt >= DEDUPLICATION_WINDOW_MS) {
        this.seen.set(dedup, now);
        this.queued.push({ messageId, body: entry.MessageBody ?? '', groupId, deduplicationId: dedup, sentAtMs: now });
      }
      // A duplicate is accepted and dropped, as SQS does.
      output.Successful?.push({ Id: entry.Id, MessageId: messageId, MD5OfMessageBody: '' });
    }
    return output;
  }

  /** Every queued message, oldest first, removed from the queue. */
  take(): QueuedMessage[] {
    const out = this.queued;
    this.queued = [];
    return out;
  }

  peek(): readonly QueuedMessage[] {
    return this.queued;
  }

  restore(): void {
    this.mock.restore();
  }
}

/** An SQS record as the Lambda event source delivers it. */
export function recordOf(message: Pick<QueuedMessage, 'messageId' | 'body' | 'groupId'>, receiveCount = 1): TickRecord {
  return { messageId: message.messageId, body: message.body, attributes: { MessageGroupId: message.groupId, ApproximateReceiveCount: String(receiveCount) } };
}

export const eventOf = (...records: TickRecord[]): TickEvent => ({ Records: records });
