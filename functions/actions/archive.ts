// `archive`: ends a campaign for good (Thrad's archived state is final). Campaigns only: ad
// groups and ads have no archived state (archiving reads back as paused).
import * as z from 'zod';
import { messageSchema, statusAction } from './status';

export const archiveParams = z.strictObject({ action: z.literal('archive'), message: messageSchema }).describe('Archive the campaign (POST /campaigns/{id}/archive); final.');

export const archive = statusAction({
  name: 'archive',
  schema: archiveParams,
  example: { action: 'archive' },
  description: 'Archive the campaign through /archive. Final: it cannot be activated or paused again, and cannot be undone.',
  levels: ['campaign'],
  levelHint: 'Thrad has no archived state for ad groups and ads (archiving reads back as paused); use pause',
  precedence: 3,
  spend: 'stops',
  words: { verb: 'ARCHIVE', present: 'archive', past: 'archived' },
  inverse: () => ({ refuse: 'archiving is final in Thrad: an archived campaign cannot be activated or paused again' }),
  // Archiving an archived campaign answers 200, so a just-made archive by someone else would look like ours.
  recheck: () => true,
});
