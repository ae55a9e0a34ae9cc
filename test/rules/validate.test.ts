// Validation messages: each problem with its own message naming file, rule, path, expected and found.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../functions/rules/errors';
import { loadRules, validateRuleText } from '../../functions/rules/validate';

const base = {
  id: 'r1',
  mode: 'live',
  schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' },
  level: 'campaign',
  when: { metric: 'clicks', window: 'today', op: 'gt', value: 10 },
  then: { action: 'pause' },
};

const issuesOf = (rule: unknown): string[] => validateRuleText(JSON.stringify(rule), 'rules/r1.json').issues.map(formatIssue);

describe('validateRuleText', () => {
  it('accepts a minimal rule and applies the defaults', () => {
    const { rules, issues } = validateRuleText(JSON.stringify(base), 'rules/r1.json');
    expect(issues).toEqual([]);
    expect(rules[0]?.rule).toMatchObject({ enabled: true, priority: 0, guards: {}, schedule: { timezone: 'America/New_York' } });
    expect(rules[0]?.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    ['an unknown key, with a suggestion', { ...base, shedule: 1 }, 'rules/r1.json:shedule: unknown key "shedule"; expected one of $schema, id, description, enabled, mode, schedule, level, scope, when, then, guards, priority. Did you mean "schedule"? (rule r1)'],
    ['an unknown key in a leaf', { ...base, when: { ...base.when, windw: 'today' } }, 'rules/r1.json:when.windw: unknown key "windw"; expected one of metric, window, op, value. Did you mean "window"? (rule r1)'],
    ['an unknown key in guards', { ...base, guards: { cooldwn: '6h' } }, 'rules/r1.json:guards.cooldwn: unknown key "cooldwn"; expected one of cooldown, max_actions_per_run, min_data, approval_expires. Did you mean "cooldown"? (rule r1)'],
    ['a missing key', { ...base, mode: undefined }, 'rules/r1.json:mode: missing required key "mode" (expected one of live, dry_run, approval) (rule r1)'],
    ['a wrong enum value', { ...base, level: 'campaigns' }, 'rules/r1.json:level: expected one of campaign, ad_group, ad, found the string "campaigns". Did you mean "campaign"? (rule r1)'],
    ['a metric on the wrong level', { ...base, level: 'ad', when: { metric: 'budget_spent_fraction', op: 'gte', value: 0.9 } }, 'rules/r1.json:when.metric: budget_spent_fraction is only available at campaign level; this rule\'s level is ad (rule r1)'],
    ['an action the level does not support', { ...base, level: 'ad_group', then: { action: 'archive' } }, 'rules/r1.json:then.action: archive is not available for ad_group rules: Thrad has no archived state for ad groups and ads (archiving reads back as paused); use pause (rule r1)'],
    ['a fraction given as a percentage', { ...base, when: { metric: 'ctr', window: 'last_7_days', op: 'gt', value: 5 }, guards: { min_data: { impressions: 1000 } } }, 'rules/r1.json:when.value: ctr is a fraction (0.05 = 5%), so 5 would mean 500%. Did you mean 0.05? (rule r1)'],
    ['a percentage budget fraction', { ...base, when: { metric: 'budget_spent_fraction', op: 'gte', value: 90 } }, 'rules/r1.json:when.value: budget_spent_fraction is a fraction (0.05 = 5%), so 90 would mean 9000%. Did you mean 0.9? (rule r1)'],
    ['a window-less metric', { ...base, when: { metric: 'spend', op: 'gt', value: 1 } }, 'rules/r1.json:when.window: spend needs a window (today, yesterday, last_3_days, last_7_days, last_14_days, last_30_days, this_month, lifetime, last_N_hours) (rule r1)'],
    ['a bad window', { ...base, when: { ...base.when, window: 'last_week' } }, 'rules/r1.json:when.window: expected a window: today, yesterday, last_3_days, last_7_days, last_14_days, last_30_days, this_month, lifetime or last_N_hours (e.g. last_6_hours); found the string "last_week". (rule r1)'],
    ['a string for a number', { ...base, when: { ...base.when, value: '10' } }, 'rules/r1.json:when.value: op gt on clicks expects a number, found the string "10" (rule r1)'],
    ['between the wrong way round', { ...base, when: { ...base.when, op: 'between', value: [9, 3] } }, 'rules/r1.json:when.value: op between expects min ≤ max, found [9, 3] (rule r1)'],
    ['contains on a metric', { ...base, when: { ...base.when, op: 'contains', value: 1 } }, 'rules/r1.json:when.op: op contains applies to name only; for clicks use gt, gte, lt, lte, eq, neq, between, in or not_in (rule r1)'],
    ['an unknown status', { ...base, when: { field: 'status', op: 'eq', value: 'running' } }, 'rules/r1.json:when.value: expected one of active, paused, archived, found the string "running". (rule r1)'],
    ['an order op on status', { ...base, when: { field: 'status', op: 'gt', value: 'active' } }, 'rules/r1.json:when.op: op gt does not apply to status; use eq, neq, in, not_in (rule r1)'],
    ['review_status on ad groups', { ...base, level: 'ad_group', when: { field: 'review_status', op: 'eq', value: 'approved' } }, "rules/r1.json:when.field: review_status is only available at campaign, ad level; this rule's level is ad_group (ad groups have no review status) (rule r1)"],
    ['a bad time', { ...base, when: { field: 'end_time', op: 'lt', value: 'tomorrow' } }, 'rules/r1.json:when.value: expected an ISO 8601 time with a zone (2026-12-01T00:00:00Z) or now, now-3d, now+12h; found the string "tomorrow" (rule r1)'],
    ['null on a field that is never null', { ...base, when: { field: 'start_time', op: 'eq', value: null } }, 'rules/r1.json:when.value: start_time is never null; found null (rule r1)'],
    ['units that do not compare', { ...base, when: { metric: 'cpc', window: 'today', op: 'gt', compare_to: { metric: 'ctr', window: 'last_7_days' } }, guards: { min_data: { clicks: 10 } } }, 'rules/r1.json:when.compare_to.metric: compares cpc (usd) with ctr (fraction); compare metrics of the same unit (rule r1)'],
    ['a condition with no kind', { ...base, when: { metrc: 'clicks' } }, 'rules/r1.json:when: a condition needs "all", "any", "not", "metric" or "field"; found an object with keys "metrc" (rule r1)'],
    ['a combinator with company', { ...base, when: { all: [base.when], metric: 'clicks' } }, 'rules/r1.json:when.metric: a condition with "all" holds nothing else; found key "metric" beside it (nest it instead) (rule r1)'],
    ['an empty all', { ...base, when: { all: [] } }, 'rules/r1.json:when.all: "all" expects a non-empty list of conditions, found an array ([]) (rule r1)'],
    ['a deep path', { ...base, when: { any: [base.when, { not: { all: [base.when, { field: 'name', op: 'contains', value: 3 }] } }] } }, 'rules/r1.json:when.any[1].not.all[1].value: expected a string, found number 3 (rule r1)'],
    ['a bad schedule', { ...base, schedule: { expression: 'cron(0 22 * * * *)' } }, 'rules/r1.json:schedule.expression: "cron(0 22 * * * *)": one of day-of-month and day-of-week must be ? (EventBridge does not combine them), e.g. cron(0 22 * * ? *) (rule r1)'],
    ['a bad time zone', { ...base, schedule: { expression: 'rate(1 hour)', timezone: 'America/NewYork' } }, 'rules/r1.json:schedule.timezone: expected an IANA time zone such as America/New_York or Europe/Berlin, found "America/NewYork" (rule r1)'],
    ['only_if_paused_by on pause', { ...base, then: { action: 'pause', only_if_paused_by: ['x'] } }, "rules/r1.json:then.only_if_paused_by: only_if_paused_by limits activate; this rule's action is pause (rule r1)"],
    ['a bad regex', { ...base, scope: { name_matches: '([' } }, 'rules/r1.json:scope.name_matches: expected a regular expression, found "([" (Invalid regular expression: /([/: Unterminated character class) (rule r1)'],
    ['a bad cooldown', { ...base, guards: { cooldown: '6 hours' } }, 'rules/r1.json:guards.cooldown: expected a duration such as 30m, 6h, 2d, or forever; found the string "6 hours" (rule r1)'],
    ['an unknown action, with a suggestion', { ...base, then: { action: 'puase' } }, 'rules/r1.json:then.action: expected one of pause, activate, archive, notify, change_budget, change_bid, found the string "puase". Did you mean "pause"? (rule r1)'],
    ['an unknown key of an action', { ...base, then: { action: 'pause', mesage: 'x' } }, 'rules/r1.json:then.mesage: unknown key "mesage"; expected one of action, message. Did you mean "message"? (rule r1)'],
    ['a parent status on a campaign rule', { ...base, when: { field: 'campaign_status', op: 'eq', value: 'active' } }, "rules/r1.json:when.field: campaign_status is only available at ad_group, ad level; this rule's level is campaign (rule r1)"],
    ['ad_group_status on an ad group rule', { ...base, level: 'ad_group', when: { field: 'ad_group_status', op: 'eq', value: 'active' } }, "rules/r1.json:when.field: ad_group_status is only available at ad level; this rule's level is ad_group (rule r1)"],
    ['a parent status that never reads back', { ...base, level: 'ad', when: { field: 'ad_group_status', op: 'eq', value: 'archived' } }, 'rules/r1.json:when.value: expected one of active, paused, found the string "archived". (rule r1)'],
    ['a bad id', { ...base, id: 'CPC Guard' }, 'rules/r1.json:id: a rule id is 1–64 lowercase letters, digits, - or _, starting with a letter or digit; found the string "CPC Guard" (rule CPC Guard)'],
  ])('names %s', (_name, rule, expected) => {
    expect(issuesOf(rule)).toContain(expected);
  });

  describe('child rules about missing delivery look at their parents', () => {
    const stalled = { metric: 'impressions', window: 'last_6_hours', op: 'eq', value: 0 };
    it.each([
      ['an ad rule without either parent', 'ad', [stalled], 'rules/r1.json:when: warning: a ad rule about missing delivery also matches every ad whose campaign or ad group is paused (a night\'s daypart pause, a person\'s pause), where nothing can deliver; add {"field": "campaign_status", "op": "eq", "value": "active"} and {"field": "ad_group_status", "op": "eq", "value": "active"} (rule r1)'],
      ['an ad rule with only the campaign', 'ad', [stalled, { field: 'campaign_status', op: 'eq', value: 'active' }], 'rules/r1.json:when: warning: a ad rule about missing delivery also matches every ad whose ad group is paused (a night\'s daypart pause, a person\'s pause), where nothing can deliver; add {"field": "ad_group_status", "op": "eq", "value": "active"} (rule r1)'],
      ['an ad group rule without its campaign', 'ad_group', [{ ...stalled, metric: 'spend', op: 'lt', value: 1 }], 'rules/r1.json:when: warning: a ad group rule about missing delivery also matches every ad group whose campaign is paused (a night\'s daypart pause, a person\'s pause), where nothing can deliver; add {"field": "campaign_status", "op": "eq", "value": "active"} (rule r1)'],
    ] as const)('%s gets a warning', (_name, level, all, expected) => {
      expect(issuesOf({ ...base, level, when: { all } })).toEqual([expected]);
    });

    it.each([
      ['with both parents', 'ad', [stalled, { field: 'campaign_status', op: 'eq', value: 'active' }, { field: 'ad_group_status', op: 'eq', value: 'active' }]],
      ['not about missing delivery', 'ad', [{ metric: 'clicks', window: 'today', op: 'gt', value: 10 }]],
      ['at campaign level', 'campaign', [stalled]],
    ] as const)('no warning %s', (_name, level, all) => {
      expect(issuesOf({ ...base, level, when: { all } })).toEqual([]);
    });
  });

  it('warns about a ratio metric without a minimum-data guard, but not when one is there', () => {
    const bare = { ...base, when: { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 } };
    const warned = validateRuleText(JSON.stringify(bare), 'rules/r1.json');
    expect(warned.rules).toHaveLength(1);
    expect(warned.issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'ratio_without_min_data', path: 'when.metric' })]);
    expect(validateRuleText(JSON.stringify({ ...bare, guards: { min_data: { clicks: 20 } } }), 'f').issues).toEqual([]);
    const sibling = { ...base, when: { all: [bare.when, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 100 }] } };
    expect(validateRuleText(JSON.stringify(sibling), 'f').issues).toEqual([]);
  });

  it('reports JSON syntax errors with line and column', () => {
    const { issues } = validateRuleText('{\n  "id": "r1",\n  "mode": ,\n}', 'rules/broken.json');
    expect(issues.map(formatIssue)).toEqual(['rules/broken.json:(root): not valid JSON at line 3, column 11: expected a value, found ","']);
  });

  it('validates every rule of an array file and keeps the good ones', () => {
    const { rules, issues } = validateRuleText(JSON.stringify([base, { ...base, id: 'r2', level: 'nope' }, { ...base, id: 'r3' }]), 'rules/many.json');
    expect(rules.map((r) => r.rule.id)).toEqual(['r1', 'r3']);
    expect(issues.map(formatIssue)).toEqual(['rules/many.json:[1].level: expected one of campaign, ad_group, ad, found the string "nope". (rule r2)']);
  });
});

describe('loadRules', () => {
  function folder(files: Record<string, unknown>): string {
    const dir = mkdtempSync(join(resolve(__dirname, '..', '..', '.tmp'), 'rules-'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    }
    return dir;
  }

  it('one bad file hides neither the errors of another nor the valid rules', () => {
    const dir = folder({ 'a.json': base, 'b.json': '{ nope', 'c.json': { ...base, id: 'c1', mode: 'sometimes' }, 'sub/d.json': { ...base, id: 'd1' }, 'schema.json': { not: 'a rule' } });
    const result = loadRules([dir], dir);
    expect(result.rules.map((r) => r.rule.id)).toEqual(['r1', 'd1']);
    expect(result.issues.map((i) => `${i.file}:${i.code}`)).toEqual(['b.json:json_syntax', 'c.json:invalid_value']);
    expect(result.files).toHaveLength(4);
  });

  it('refuses duplicate ids across files, naming the first', () => {
    const dir = folder({ 'a.json': base, 'b.json': [{ ...base, id: 'other' }, base] });
    const result = loadRules([dir], dir);
    expect(result.rules.map((r) => r.rule.id)).toEqual(['r1', 'other']);
    expect(result.issues.map(formatIssue)).toEqual(['b.json:[1].id: duplicate rule id "r1": also defined in a.json; rule ids must be unique across files (rule r1)']);
  });

  it('refuses only_if_paused_by naming a rule nobody defines', () => {
    const resume = { ...base, id: 'resume', when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['night-pause'] } };
    const result = loadRules([folder({ 'resume.json': resume })]);
    expect(result.rules).toEqual([]);
    expect(result.issues[0]).toMatchObject({ code: 'unknown_rule_reference', path: 'then.only_if_paused_by', message: 'refers to rule "night-pause" that no rule file defines' });
  });

  it('the shipped example rules are valid, warning-free and carry $schema', () => {
    const result = loadRules([resolve(__dirname, '..', '..', 'rules')]);
    expect(result.issues).toEqual([]);
    expect(result.rules.map((r) => r.rule.id).sort()).toEqual(['activate-approved', 'bid-down-expensive', 'budget-guard', 'cpc-guard', 'cpc-spike-guard', 'ctr-floor', 'daypart-pause', 'daypart-resume', 'scale-winners', 'stalled-ads']);
  });
});

describe('money actions: the validator names each new mistake', () => {
  const budget = (then: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...base, then: { action: 'change_budget', ...then }, guards: { cooldown: '24h' }, ...extra });
  const bid = (then: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...base, level: 'ad_group', then: { action: 'change_bid', ...then }, guards: { cooldown: '12h' }, ...extra });

  it.each([
    ['a budget change on an ad rule', { ...budget({ by_percent: 10, max_usd: 500 }), level: 'ad' }, 'rules/r1.json:then.action: change_budget is not available for ad rules: budgets are set on campaigns (an ad group has a max bid: change_bid) (rule r1)'],
    ['a bid change on a campaign rule', { ...bid({ by_percent: -10, min_usd: 0.5 }), level: 'campaign' }, 'rules/r1.json:then.action: change_bid is not available for campaign rules: bids are set on ad groups (bidding_config.max_bid_micros) (rule r1)'],
    ['a by_percent of 500', budget({ by_percent: 500, max_usd: 2000 }), `rules/r1.json:then.by_percent: warning: +500% is more than the engine's safety limit of one change (50% of the current value by default, THRAD_RULES_MAX_CHANGE_PERCENT): every change will be clipped to it; to grow further, let the rule repeat after its cooldown, within a ceiling such as "max_usd": 2000 (rule r1)`],
    ['an increase without max_usd', budget({ by_percent: 20 }), 'rules/r1.json:then.max_usd: warning: an increase without "max_usd" has no ceiling: the lifetime budget grows +20% every time the rule matches (after its cooldown), without end; add one, e.g. "max_usd": 2000 (rule r1)'],
    ['a bid increase without max_usd', bid({ by_usd: 0.25 }), 'rules/r1.json:then.max_usd: warning: an increase without "max_usd" has no ceiling: the max bid grows +$0.25 every time the rule matches (after its cooldown), without end; add one, e.g. "max_usd": 5 (rule r1)'],
    ['a decrease without min_usd', bid({ by_percent: -10 }), `rules/r1.json:then.min_usd: warning: a decrease without "min_usd" goes down to $0.000001 (Thrad's minimum) over repeated matches; add a floor, e.g. "min_usd": 0.5 (rule r1)`],
    ['a decrease of 100%', budget({ by_percent: -100, min_usd: 10 }), 'rules/r1.json:then.by_percent: a decrease of 100% would take the whole lifetime budget away; a decrease is a share of the current value, below 100 (e.g. "by_percent": -20) (rule r1)'],
    ['both by_percent and by_usd', budget({ by_percent: 10, by_usd: 5, max_usd: 100 }), 'rules/r1.json:then: give exactly one of by_percent or by_usd; found an object with keys "action", "by_percent", "by_usd", "max_usd" (rule r1)'],
    ['neither by_percent nor by_usd', budget({ max_usd: 100 }), 'rules/r1.json:then: give exactly one of by_percent or by_usd; found an object with keys "action", "max_usd" (rule r1)'],
    ['a change of 0%', budget({ by_percent: 0, max_usd: 100 }), 'rules/r1.json:then.by_percent: a change of 0% changes nothing; found number 0 (rule r1)'],
    ['a ceiling on a decrease', budget({ by_usd: -50, max_usd: 100 }), 'rules/r1.json:then.max_usd: warning: "max_usd" is the ceiling when increasing, and this rule decreases (-$50); the floor of a decrease is "min_usd" (rule r1)'],
    ['crossed bounds', budget({ by_percent: 10, max_usd: 100, min_usd: 200 }), 'rules/r1.json:then.min_usd: min_usd 200 is above max_usd 100 (rule r1)'],
    ['a bid ceiling above $100', bid({ by_percent: 10, max_usd: 250 }), `rules/r1.json:then.max_usd: warning: max_usd 250 is above Thrad's largest max bid ($100.00); the max bid never goes above $100.00 (rule r1)`],
    ['a live money rule without a cooldown', { ...budget({ by_percent: 20, max_usd: 2000 }), guards: {} }, 'rules/r1.json:guards.cooldown: warning: a change_budget rule without a cooldown changes the lifetime budget again on every run it matches (+20% each time compounds); set one, e.g. "guards": {"cooldown": "24h"} (rule r1)'],
    ['max_bid_usd on a campaign rule', { ...base, when: { field: 'max_bid_usd', op: 'gt', value: 5 } }, "rules/r1.json:when.field: max_bid_usd is only available at ad_group level; this rule's level is campaign (rule r1)"],
  ])('%s', (_name, rule, expected) => {
    expect(issuesOf(rule)).toContain(expected);
  });

  it('a well-bounded money rule has no message', () => {
    expect(issuesOf(budget({ by_percent: 20, max_usd: 2000 }))).toEqual([]);
    expect(issuesOf(bid({ by_percent: -10, min_usd: 0.5 }, { when: { field: 'max_bid_usd', op: 'gt', value: 1 } }))).toEqual([]);
  });
});
