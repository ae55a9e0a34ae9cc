// Regression, found by an adversarial review (it failed before the fix): ad groups and ads have no archived state in the sandbox model
// (archive reads back as paused) and archiving an already-paused ad group changes nothing, not even
// updated_at. A person who archives (retires) an ad group that the night rule paused is therefore
// undetectable, and the 07:00 resume (only_if_paused_by) re-activates it. Either the sandbox guess
// is wrong (archive should move updated_at) or the product needs another signal; today a person's
// archive is reversed.
import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../../functions/rules/schema';
import { minutesLater, simFixture, simulate } from '../helpers/sim';

const C = 'ac000000-0000-4000-8000-000000000001';
const G = `${C}-group`;
const rules: RuleInput[] = [
  { id: 'group-night', mode: 'live', schedule: { expression: 'cron(0 22 * * ? *)', timezone: 'America/New_York' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, priority: 10 },
  { id: 'group-morning', mode: 'live', schedule: { expression: 'cron(0 7 * * ? *)', timezone: 'America/New_York' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['group-night'] }, priority: 5 },
];
describe('regression: a person archiving a paused ad group is invisible', () => {
  it('the morning resume does not re-activate an ad group a person archived during the night', async () => {
    const fixture = simFixture([{ id: C, name: 'Lamps', spentUsd: 300, days: 10, cpcUsd: 1, impressionsPerHour: 300 }]);
    const result = await simulate(fixture, rules, 10 * 60, [{ at: minutesLater(70), do: 'archive', level: 'ad_group', id: G }]);
    expect(result.final.ad_groups.find((g) => g.id === G)?.status).toBe('paused');
  });
});
