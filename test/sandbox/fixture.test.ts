// Fixture validation: the demo fixture is valid; a bad fixture names every problem's path and
// the sandbox does not start; the committed JSON Schema is current.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../functions/cli/generate';
import { DEMO_FIXTURE_PATH, FixtureError, loadFixtureFile, parseFixture } from '../../sandbox/fixture';
import { startSandbox } from '../../sandbox/server';
import { smallFixture } from '../helpers/fixtures';

describe('fixtures', () => {
  it('the demo fixture is valid and holds a dozen campaigns in every situation', () => {
    const demo = loadFixtureFile(DEMO_FIXTURE_PATH);
    expect(demo.campaigns.length).toBeGreaterThanOrEqual(12);
    const states = new Set(demo.campaigns.map((c) => `${c.status}/${c.review_status}`));
    expect(states).toEqual(new Set(['active/approved', 'paused/in_review', 'paused/approved', 'paused/rejected', 'archived/approved']));
  });

  it.each([
    ['a missing account', (f: Record<string, unknown>) => ({ ...f, account: undefined }), 'account: Invalid input: expected object, received undefined'],
    ['a key without ak_', (f: Record<string, unknown>) => ({ ...f, api_keys: ['sk_live_x'] }), 'api_keys[0]'],
    ['an unknown field', (f: Record<string, unknown>) => ({ ...f, colour: 'red' }), '(root): Unrecognized key: "colour"'],
    ['a row with both date and hour', (f: Record<string, unknown>) => withRow(f, { date: '2026-03-01', hour: '2026-03-01T01:00:00Z', impressions: 1, clicks: 0, spend_usd: 0 }), 'campaigns[0].ad_groups[0].ads[0].delivery[6]: give exactly one of "date" or "hour"'],
    ['a bad date', (f: Record<string, unknown>) => withRow(f, { date: '01/03/2026', impressions: 1, clicks: 0, spend_usd: 0 }), 'campaigns[0].ad_groups[0].ads[0].delivery[6].date: expected a date as YYYY-MM-DD'],
    ['negative clicks', (f: Record<string, unknown>) => withRow(f, { date: '2026-03-01', impressions: 1, clicks: -1, spend_usd: 0 }), 'campaigns[0].ad_groups[0].ads[0].delivery[6].clicks'],
    ['a budget under $0.99', (f: Record<string, unknown>) => patchCampaign(f, { budget: { lifetime_spend_limit_micros: 500_000 } }), 'campaigns[0].budget.lifetime_spend_limit_micros'],
    ['a duplicate id', (f: Record<string, unknown>) => patchCampaign(f, { id: '22222222-2222-4222-8222-222222222222' }), 'campaigns[1].id: duplicate id "22222222-2222-4222-8222-222222222222" (also at campaigns[0])'],
    ['a traffic model without a price', (f: Record<string, unknown>) => patchCampaign(f, { traffic: { impressions_per_hour: 10, ctr: 0.01 } }), 'campaigns[0].ad_groups[0].ads[0].traffic: give cpc_usd or cpm_usd'],
  ])('rejects %s, naming the path', (_name, mutate, expected) => {
    const input = mutate(structuredClone(smallFixture()));
    const error = (() => {
      try {
        parseFixture(input, 'bad.json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FixtureError);
    expect((error as FixtureError).message).toContain('Invalid sandbox fixture bad.json');
    expect((error as FixtureError).problems.join('\n')).toContain(expected);
  });

  it('refuses to start on a bad fixture', async () => {
    await expect(startSandbox({ fixture: { api_keys: [], account: { id: 'a' } }, port: 0 })).rejects.toBeInstanceOf(FixtureError);
  });

  it('the committed JSON Schemas are what `npm run generate` writes', () => {
    for (const file of generatedFiles()) expect(readFileSync(file.path, 'utf8'), `${file.path} is stale: run npm run generate`).toBe(file.content);
  });
});

function withRow(f: Record<string, unknown>, row: Record<string, unknown>): Record<string, unknown> {
  const campaigns = f.campaigns as { ad_groups: { ads: { delivery: unknown[] }[] }[] }[];
  campaigns[0]?.ad_groups[0]?.ads[0]?.delivery.push(row);
  return f;
}

/** Patch the first campaign (smallFixture's second campaign has id 2222…, so patching id to it duplicates). */
function patchCampaign(f: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const campaigns = f.campaigns as Record<string, unknown>[];
  campaigns[0] = { ...campaigns[0], ...patch };
  return f;
}
