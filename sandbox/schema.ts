// The JSON Schema of sandbox fixtures, generated from the zod schema (the single source of truth)
// so editors can check and complete fixture files. `npm run generate` writes it; a test fails
// when the committed file is stale.
import * as z from 'zod';
import { anyFixtureSchema } from './fixture';

export function fixtureJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(anyFixtureSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'Thrad sandbox fixture',
    description: 'The world the Thrad sandbox starts from: clock, API keys, account, billing, and campaigns → ad groups → ads with delivery history and traffic models; for one organization at the top level, or for several in "organizations" (each key serves its own organization).',
  };
}
