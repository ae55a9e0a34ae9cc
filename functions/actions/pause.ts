// `pause`: stops spend, so it is always allowed (within the rule's cooldown and cap).
import * as z from 'zod';
import { messageSchema, statusAction } from './status';

export const pauseParams = z.strictObject({ action: z.literal('pause'), message: messageSchema }).describe('Pause the entity (POST /{level}/{id}/pause).');

export const pause = statusAction({
  name: 'pause',
  schema: pauseParams,
  example: { action: 'pause' },
  description: 'Pause the entity through its /pause endpoint. Stops spend, so it never needs the right to.',
  levels: ['campaign', 'ad_group', 'ad'],
  precedence: 2,
  spend: 'stops',
  words: { verb: 'PAUSE', present: 'pause', past: 'paused' },
  inverse: (record) => (record.value_before === 'active' ? { action: 'activate', target: 'active' } : { refuse: `it was ${String(record.value_before)} before the pause, not active` }),
  // Campaigns answer a pause of a paused campaign with campaign_not_running, which the client
  // confirms; ad groups and ads answer 200 either way, so they are read again first.
  recheck: (level) => level !== 'campaign',
});
