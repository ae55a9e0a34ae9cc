// `activate`: starts spend, so it needs the right to (engine/ownership.ts): it never reverses a
// person's change, nor a pause held by a rule of higher or equal priority unless it names that
// rule in only_if_paused_by. Thrad activates only approved campaigns.
import * as z from 'zod';
import { ruleIdSchema } from '../rules/ids';
import { messageSchema, statusAction } from './status';

export const activateParams = z
  .strictObject({
    action: z.literal('activate'),
    only_if_paused_by: z
      .array(ruleIdSchema)
      .min(1)
      .optional()
      .describe('Act only on entities one of these rules holds paused (it paused them and nobody changed them since); also lets this rule resume them whatever their priority.'),
    message: messageSchema,
  })
  .describe('Activate the entity (POST /{level}/{id}/activate); starting spend needs the right to.');

export const activate = statusAction({
  name: 'activate',
  schema: activateParams,
  example: { action: 'activate' },
  description: 'Activate the entity through its /activate endpoint. Starts spend: never reverses a person’s change, nor a pause held by a rule of higher or equal priority (unless named in only_if_paused_by).',
  levels: ['campaign', 'ad_group', 'ad'],
  precedence: 1,
  spend: 'starts',
  words: { verb: 'ACTIVATE', present: 'activate', past: 'activated' },
  inverse: (record) => (record.value_before === 'paused' ? { action: 'pause', target: 'paused' } : { refuse: `it was ${String(record.value_before)} before the activation, not paused` }),
  blocked: (entity) =>
    entity.level === 'campaign' && entity.reviewStatus !== 'approved'
      ? { kind: 'not_possible', outcome: 'skipped_not_approved', reason: `the campaign is ${entity.reviewStatus === 'rejected' ? 'rejected' : 'still in review'}: Thrad activates only approved campaigns` }
      : null,
  // Always re-read: the decision may be minutes old, and starting spend must not act on a stale view.
  recheck: () => true,
});
