// The shipped rules together over a simulated week of the demo world, with people acting at
// random (seeded): the ground truth holds after every step (no unrecorded action, no person's
// pause reversed, no higher-priority pause reversed), and no [daypart] campaign is active between
// its 22:00 pause and its 07:00 resume (New York time) unless a person switched it on since 22:00.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localTime } from '../../functions/shared/timezone';
import type { SimEvent } from '../../functions/sim/events';
import { runSimulation } from '../../functions/sim/simulate';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { exampleRules, RULES_DIR } from '../helpers/engine';
import { GroundTruth } from '../helpers/truth';
import { loadRules } from '../../functions/rules/validate';

const DAY_MS = 86_400_000;

describe('the shipped rules over a simulated week', () => {
  it('never fight each other or the people, and keep dayparting', async () => {
    const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
    const nowMs = (fixture.now ?? 0) * 1000;
    const ids = fixture.campaigns.map((c) => c.id as string);
    const daypart = fixture.campaigns.filter((c) => c.name.includes('[daypart]')).map((c) => c.id as string);
    expect(daypart.length).toBeGreaterThan(0);
    // 40 people's actions, seeded: pauses and activations of any campaign, some undos.
    const picks = fc.sample(fc.record({ minute: fc.integer({ min: 1, max: 7 * 24 * 60 - 1 }), campaign: fc.nat({ max: ids.length - 1 }), kind: fc.constantFrom('pause' as const, 'activate' as const, 'activate' as const, 'undo' as const) }), { numRuns: 40, seed: 7 });
    const ruleIds = exampleRules().rules.filter((r) => r.rule.then.action !== 'notify').map((r) => r.id);
    const events: SimEvent[] = picks
      .sort((a, b) => a.minute - b.minute)
      .map((p, i) => {
        const at = new Date(nowMs + p.minute * 60_000).toISOString();
        const id = ids[p.campaign];
        return p.kind === 'undo' ? { at, do: 'undo' as const, rule: ruleIds[i % ruleIds.length], entity: id } : { at, do: p.kind, level: 'campaign' as const, id };
      });
    const rules = loadRules([RULES_DIR]).rules.map((r) => r.rule);
    const truth = new GroundTruth(rules, fixture.campaigns.map((c) => ({ id: c.id as string, status: c.status })));
    const nights: string[] = [];
    const result = await runSimulation({
      fixture,
      rules: exampleRules(),
      untilMs: nowMs + 7 * DAY_MS,
      events,
      onStep: (step) => {
        truth.check(step);
        const local = localTime(step.atMs, 'America/New_York');
        const night = local.hour >= 22 || local.hour < 7;
        if (!night) return;
        // The last 22:00 in New York before this instant.
        const hoursSince22 = (local.hour - 22 + 24) % 24;
        const since22 = step.atMs - (hoursSince22 * 60 + local.minute) * 60_000;
        for (const id of daypart) {
          if (step.world.campaigns.get(id)?.status !== 'active') continue;
          const by = truth.lastActivation.get(id);
          if (by?.kind === 'person' && by.atMs >= since22) continue;
          nights.push(`${id} active at ${new Date(step.atMs).toISOString()} (activated by ${by?.kind ?? 'nobody'})`);
        }
      },
    });
    expect(nights).toEqual([]);
    // Not vacuous: a week of runs, the demo's actions, the people's events, dayparting every night.
    expect(result.runs).toBeGreaterThan(2_000);
    expect(result.decisions.filter((d) => d.rule_id === 'daypart-pause' && d.outcome === 'acted').length).toBeGreaterThanOrEqual(5);
    expect(result.decisions.filter((d) => d.rule_id === 'daypart-resume' && d.outcome === 'acted').length).toBeGreaterThanOrEqual(5);
    expect(result.events.filter((e) => e.ok).length).toBeGreaterThanOrEqual(15);
    expect(readFileSync(DEMO_FIXTURE_PATH, 'utf8')).toContain('[daypart]');
  }, 300_000);
});
