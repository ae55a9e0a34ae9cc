// `notify`: changes nothing in Thrad; a matching entity becomes a line in the run's digest.
import * as z from 'zod';
import { messageSchema } from './status';
import type { ActionDefinition } from './types';

export const notifyParams = z.strictObject({ action: z.literal('notify'), message: messageSchema }).describe('Change nothing; list the entity in the run’s digest.');

export const notify: ActionDefinition<'notify', z.infer<typeof notifyParams>> = {
  name: 'notify',
  schema: notifyParams,
  example: { action: 'notify' },
  description: 'Change nothing in Thrad: the matching entity is listed in the run’s digest.',
  levels: ['campaign', 'ad_group', 'ad'],
  conflictClass: 'none',
  precedence: () => 0,
  spend: () => 'none',
  micros: () => null,
  calls: false,
  recheck: () => false,
  read: () => null,
  plan: () => ({ kind: 'set', target: null }),
  execute: () => Promise.reject(new Error('notify makes no API call')),
  confirms: () => true,
  inverse: () => ({ refuse: 'a notification changed nothing' }),
  words: { verb: 'NOTIFY', present: 'notify about', past: 'notified about' },
};
