// Rules grouped by (schedule expression, time zone): one EventBridge Scheduler schedule per group
// on AWS, one timer per group in the local runner. The group id is stable (a slug and a hash of
// the pair) because it names the schedule and keys its occurrence claims.
import { createHash } from 'node:crypto';
import type { Rule } from './schema';
import { parseSchedule, schedulePeriodSeconds, type ParsedSchedule } from './schedule';

export interface ScheduleGroup {
  id: string;
  expression: string;
  timezone: string;
  ruleIds: string[];
  schedule: ParsedSchedule;
  periodSeconds: number;
}

export function scheduleGroupId(expression: string, timezone: string): string {
  const slug = `${expression}-${timezone}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const hash = createHash('sha256').update(`${expression}|${timezone}`).digest('hex').slice(0, 8);
  return `${slug.slice(0, 48)}-${hash}`;
}

/** Enabled rules grouped by (expression, time zone), sorted by group id. */
export function scheduleGroups(rules: readonly Rule[]): ScheduleGroup[] {
  const groups = new Map<string, ScheduleGroup>();
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const key = `${rule.schedule.expression}|${rule.schedule.timezone}`;
    let group = groups.get(key);
    if (!group) {
      const schedule = parseSchedule(rule.schedule.expression);
      group = {
        id: scheduleGroupId(rule.schedule.expression, rule.schedule.timezone),
        expression: rule.schedule.expression,
        timezone: rule.schedule.timezone,
        ruleIds: [],
        schedule,
        periodSeconds: schedulePeriodSeconds(schedule, rule.schedule.timezone),
      };
      groups.set(key, group);
    }
    group.ruleIds.push(rule.id);
  }
  return [...groups.values()].sort((a, b) => a.id.localeCompare(b.id));
}
