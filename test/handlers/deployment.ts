// The deployment the planner and worker tests share: a tick at 22:00 New York, and the rules
// shipped with it (at that tick two schedules coincide).
import { engineRuleInputs } from '../helpers/engine';

/** 22:00 in New York (EST) on 2026-11-23. */
export const NY_22 = Date.parse('2026-11-24T03:00:00Z');

/** The deployment's rules: at 22:00 New York, pause-expensive (every 15 min) and night-pause (22:00) coincide. */
export function deployedRules(): { file: string; text: string }[] {
  const rules = engineRuleInputs({
    'activate-approved': { schedule: { expression: 'cron(0 7 * * ? *)', timezone: 'America/New_York' } },
    'night-pause': { schedule: { expression: 'cron(0 22 * * ? *)', timezone: 'America/New_York' } },
  });
  const gap = { ...rules[2], id: 'spring-gap', schedule: { expression: 'cron(30 2 * * ? *)', timezone: 'America/New_York' } };
  return [...rules, gap].map((r) => ({ file: `rules/${String(r.id)}.json`, text: JSON.stringify(r) }));
}

