// `thrad-rules preview`: evaluate the rules against current data and act on nothing: per rule,
// what would be acted on and why, what would be skipped and why.
import { Engine } from '../engine/cycle';
import { noNotifications } from '../engine/notifier';
import { describeExplanation } from '../engine/describe';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile';
import type { PreviewEntry, PreviewResult } from '../engine/cycle';
import type { LocalConfig } from '../local/config';
import type { LocalEnvironment } from '../local/environment';
import { parseFlags } from './args';
import { EXIT } from './output';
import { loadRuleFolder, withEnvironment, type CommandContext } from './shared';

export const PREVIEW_HELP = `Usage: thrad-rules preview [--rules DIR] [--rule ID] [--json]

Evaluates the rules against the current data and acts on nothing, records nothing. For each rule:
the entities it would act on and the values that decide it, those it would skip and why
(cooldown, per-run cap, a conflict with another rule, already in that state, changed by someone
else) and those without enough data to decide.

Without THRAD_ADS_API_KEY it previews against the running autopilot's sandbox, or else the demo's
world as the last demo run left it (rebuilt from its record). Exit codes: 0 ok, 1 invalid rules or API unreachable, 2 wrong usage.

Examples:
  npx thrad-rules preview
  npx thrad-rules preview --rule cpc-guard
  npx thrad-rules preview --rules ./staging-rules --json`;

/**
 * What the rules would do now, acting on nothing and recording nothing (the console asks the same
 * for one entity: `entityId` adds why each rule of its level did not match it).
 */
export async function previewRules(environment: LocalEnvironment, config: Pick<LocalConfig, 'maxChangeFraction'>, ruleSet: CompiledRuleSet, request: { ruleIds: string[]; entityId?: string }): Promise<PreviewResult> {
  const engine = new Engine({ client: environment.client, store: environment.store, rules: ruleSet, notifier: noNotifications, clock: environment.clock, accountId: await environment.accountId(), maxChangeFraction: config.maxChangeFraction });
  return engine.preview({ ...request, deadlineMs: Date.now() + 120_000 });
}

interface RulePreview {
  rule_id: string;
  action: string;
  mode: string;
  level: string;
  schedule: string;
  would_act: PreviewEntry[];
  skipped: PreviewEntry[];
  insufficient_data: PreviewEntry[];
  no_match: number;
  data_unavailable: string | null;
}

export async function previewCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, { rules: { type: 'string' }, rule: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, ctx.io, PREVIEW_HELP);
  if (values.help) {
    ctx.io.out(PREVIEW_HELP);
    return EXIT.ok;
  }
  return withEnvironment(ctx, { rules: values.rules }, true, async (environment, config) => {
    const loaded = loadRuleFolder(config.rulesDir, ctx, values.rules);
    const ruleSet = compileRuleSet(loaded.rules);
    if (values.rule !== undefined && !ruleSet.byId.has(values.rule)) {
      ctx.io.err(`No valid rule "${values.rule}" in ${config.rulesDir}. Rules: ${[...ruleSet.byId.keys()].join(', ') || '(none)'}`);
      return EXIT.failure;
    }
    const ruleIds = values.rule ? [values.rule] : ruleSet.rules.filter((r) => r.rule.enabled).map((r) => r.id);
    const preview = await previewRules(environment, config, ruleSet, { ruleIds });
    const results: RulePreview[] = ruleIds.map((id) => {
      const rule = ruleSet.byId.get(id)?.rule;
      const mine = preview.entries.filter((p) => p.rule_id === id);
      return {
        rule_id: id,
        action: rule?.then.action ?? '',
        mode: rule?.mode ?? '',
        level: rule?.level ?? '',
        schedule: rule ? `${rule.schedule.expression} ${rule.schedule.timezone}` : '',
        would_act: mine.filter((p) => p.outcome === 'would_act'),
        skipped: mine.filter((p) => p.outcome !== 'would_act' && p.verdict === 'match'),
        insufficient_data: mine.filter((p) => p.verdict === 'insufficient_data' && p.outcome !== 'data_unavailable'),
        no_match: preview.counts[id]?.no_match ?? 0,
        data_unavailable: mine.find((p) => p.outcome === 'data_unavailable')?.reason ?? null,
      };
    });
    if (values.json) {
      ctx.io.out(JSON.stringify({ evaluated_at: preview.evaluated_at, api: environment.describeApi, rules: results }, null, 2));
      return EXIT.ok;
    }
    ctx.io.out(`Preview at ${preview.evaluated_at} against ${environment.describeApi}; nothing is acted on or recorded.`);
    for (const r of results) {
      ctx.io.out('');
      ctx.io.out(`${r.rule_id}: ${r.action} ${r.level}s (${r.mode}, ${r.schedule})`);
      if (r.data_unavailable) {
        ctx.io.out(`  no data: ${r.data_unavailable}`);
        continue;
      }
      ctx.io.out(`  would act on ${r.would_act.length}${r.would_act.length ? ':' : ''}`);
      for (const p of r.would_act) ctx.io.out(`    ${p.entity_name}: ${describeExplanation(p.explanation, 'match')}`);
      if (r.skipped.length) ctx.io.out(`  would skip ${r.skipped.length}:`);
      for (const p of r.skipped) ctx.io.out(`    ${p.entity_name}: ${p.outcome.replace(/_/g, ' ')}: ${p.reason}`);
      if (r.insufficient_data.length) ctx.io.out(`  not enough data on ${r.insufficient_data.length}:`);
      for (const p of r.insufficient_data) ctx.io.out(`    ${p.entity_name}: ${describeExplanation(p.explanation, 'insufficient_data')}`);
      ctx.io.out(`  no match: ${r.no_match}`);
    }
    return EXIT.ok;
  });
}
