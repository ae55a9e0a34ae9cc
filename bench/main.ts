// `npm run bench [-- --json]`: every speed and memory figure of the project in one table (or one
// JSON object), each with its target. Figures are measured here, never asserted in timed tests.
import { parseArgs } from 'node:util';
import { runAdLevelBench } from './adlevel';
import { runBundleBench } from './bundle';
import { runCycleBench } from './cycle';
import { runEvaluatorBench } from './evaluator';
import { runOrgHourBench } from './orgs';

interface Row {
  figure: string;
  value: number;
  target: string;
  ok: boolean | null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, campaigns: { type: 'string' }, orgs: { type: 'string' }, 'org-campaigns': { type: 'string' } }, strict: true });
  const campaigns = Number(values.campaigns ?? 10_000);
  const evaluator = await runEvaluatorBench({ campaigns });
  const cycle = await runCycleBench(campaigns);
  const adLevel = await runAdLevelBench();
  const bundle = await runBundleBench();
  const orgHour = await runOrgHourBench({ orgs: Number(values.orgs ?? 200), campaigns: Number(values['org-campaigns'] ?? 500) });
  const figures = {
    evaluations_per_second: evaluator.evaluations_per_second,
    json_rules_engine_evaluations_per_second: evaluator.json_rules_engine_evaluations_per_second,
    evaluator_ratio: evaluator.evaluator_ratio,
    full_evaluation_ms: evaluator.full_evaluation_ms,
    api_requests_per_cycle: cycle.api_requests_per_cycle,
    api_requests_lower_bound: cycle.api_requests_lower_bound,
    api_requests_per_entity_design: cycle.api_requests_per_entity_design,
    api_requests_ad_level_cycle: adLevel.api_requests_ad_level_cycle,
    api_requests_ad_level_cycle_without_metadata: adLevel.api_requests_ad_level_cycle_without_metadata,
    api_requests_ad_level_lower_bound: adLevel.api_requests_ad_level_lower_bound,
    cycle_seconds: cycle.cycle_seconds,
    cycle_io_floor_seconds: cycle.cycle_io_floor_seconds,
    cycle_overhead_ratio: Math.round((cycle.cycle_seconds / cycle.cycle_io_floor_seconds) * 100) / 100,
    peak_rss_mb: cycle.peak_rss_mb,
    first_cycle_records: cycle.first_cycle_records,
    steady_state_records_per_cycle: cycle.steady_state_records_per_cycle,
    lambda_bundle_kb: bundle.lambda_bundle_kb,
    lambda_cold_load_ms: bundle.lambda_cold_load_ms,
    org_hour_requests_per_org: orgHour.org_hour_requests_per_org,
    org_hour_requests_lower_bound_per_org: orgHour.org_hour_requests_lower_bound_per_org,
    org_hour_safety_reads_per_org: orgHour.org_hour_safety_reads_per_org,
    org_hour_unexplained_requests: orgHour.org_hour_unexplained_requests,
    org_hour_store_requests_per_cycle: orgHour.org_hour_store_requests_per_cycle,
    org_hour_engine_cpu_seconds: orgHour.org_hour_engine_cpu_seconds,
    org_hour_servers_cpu_seconds: orgHour.org_hour_servers_cpu_seconds,
    org_hour_seconds: orgHour.org_hour_seconds,
    org_hour_io_floor_seconds: orgHour.org_hour_io_floor_seconds,
    org_hour_io_floor_servers_cpu_seconds: orgHour.org_hour_io_floor_servers_cpu_seconds,
    org_hour_overhead_ratio: orgHour.org_hour_overhead_ratio,
    org_hour_peak_rss_mb: orgHour.org_hour_peak_rss_mb,
    fairness_max_tick_delay: orgHour.fairness_max_tick_delay,
    setup: { ad_level_ads: adLevel.ad_level_ads, campaigns: cycle.campaigns, rules: cycle.rules, windows: cycle.windows, actions: cycle.actions, decisions_recorded: cycle.decisions_recorded, settle_cycle_records: cycle.settle_cycle_records, io_floor_item_writes: cycle.io_floor_item_writes, io_floor_item_bytes: cycle.io_floor_item_bytes, evaluator_rules: evaluator.rules, evaluator_campaigns: evaluator.campaigns, json_rules_engine_campaigns_measured: evaluator.json_rules_engine_campaigns_measured, org_hour: { orgs: orgHour.orgs, campaigns_per_org: orgHour.campaigns_per_org, ticks_per_org: orgHour.ticks_per_org, cycles: orgHour.org_hour_cycles, actions: orgHour.org_hour_actions, fairness_slow_org_cycles: orgHour.fairness_slow_org_cycles, fairness_slow_request_delay_ms: orgHour.fairness_slow_request_delay_ms, fairness_baseline_worst_start_ms: orgHour.fairness_baseline_worst_start_ms, fairness_worst_start_ms: orgHour.fairness_worst_start_ms } },
  };
  const rows: Row[] = [
    { figure: 'evaluations_per_second', value: figures.evaluations_per_second, target: '', ok: null },
    { figure: 'json_rules_engine_evaluations_per_second', value: figures.json_rules_engine_evaluations_per_second, target: '', ok: null },
    { figure: 'evaluator_ratio', value: figures.evaluator_ratio, target: '≥ 50', ok: figures.evaluator_ratio >= 50 },
    { figure: 'full_evaluation_ms', value: figures.full_evaluation_ms, target: '< 100', ok: figures.full_evaluation_ms < 100 },
    { figure: 'api_requests_per_cycle', value: figures.api_requests_per_cycle, target: '= bound', ok: figures.api_requests_per_cycle === figures.api_requests_lower_bound },
    { figure: 'api_requests_lower_bound', value: figures.api_requests_lower_bound, target: '', ok: null },
    { figure: 'api_requests_per_entity_design', value: figures.api_requests_per_entity_design, target: '', ok: null },
    { figure: 'api_requests_ad_level_cycle', value: figures.api_requests_ad_level_cycle, target: '= bound', ok: figures.api_requests_ad_level_cycle === figures.api_requests_ad_level_lower_bound },
    { figure: 'api_requests_ad_level_cycle_without_metadata', value: figures.api_requests_ad_level_cycle_without_metadata, target: '', ok: null },
    { figure: 'api_requests_ad_level_lower_bound', value: figures.api_requests_ad_level_lower_bound, target: '', ok: null },
    { figure: 'cycle_seconds', value: figures.cycle_seconds, target: '< 10', ok: figures.cycle_seconds < 10 },
    { figure: 'cycle_io_floor_seconds', value: figures.cycle_io_floor_seconds, target: '', ok: null },
    { figure: 'cycle_overhead_ratio', value: figures.cycle_overhead_ratio, target: '≤ 1.3', ok: figures.cycle_overhead_ratio <= 1.3 },
    { figure: 'peak_rss_mb', value: figures.peak_rss_mb, target: '< 512', ok: figures.peak_rss_mb < 512 },
    { figure: 'first_cycle_records', value: figures.first_cycle_records, target: '', ok: null },
    { figure: 'steady_state_records_per_cycle', value: figures.steady_state_records_per_cycle, target: '≤ 1%', ok: figures.steady_state_records_per_cycle <= figures.first_cycle_records / 100 },
    { figure: 'lambda_bundle_kb', value: figures.lambda_bundle_kb, target: '< 1024', ok: figures.lambda_bundle_kb < 1024 },
    { figure: 'lambda_cold_load_ms', value: figures.lambda_cold_load_ms, target: '', ok: null },
    { figure: 'org_hour_requests_per_org', value: figures.org_hour_requests_per_org, target: '= bound', ok: figures.org_hour_requests_per_org === figures.org_hour_requests_lower_bound_per_org },
    { figure: 'org_hour_requests_lower_bound_per_org', value: figures.org_hour_requests_lower_bound_per_org, target: '', ok: null },
    // The requests beyond the bound are exactly the safety reads (none other), or the gap is the engine's.
    { figure: 'org_hour_safety_reads_per_org', value: figures.org_hour_safety_reads_per_org, target: '', ok: null },
    { figure: 'org_hour_unexplained_requests', value: figures.org_hour_unexplained_requests, target: '= 0', ok: figures.org_hour_unexplained_requests === 0 },
    { figure: 'org_hour_store_requests_per_cycle', value: figures.org_hour_store_requests_per_cycle, target: '', ok: null },
    { figure: 'org_hour_engine_cpu_seconds', value: figures.org_hour_engine_cpu_seconds, target: '', ok: null },
    { figure: 'org_hour_servers_cpu_seconds', value: figures.org_hour_servers_cpu_seconds, target: '', ok: null },
    { figure: 'org_hour_seconds', value: figures.org_hour_seconds, target: '< 60', ok: figures.org_hour_seconds < 60 },
    // The same hour's requests and item writes without the engine: what this machine takes for the I/O alone.
    { figure: 'org_hour_io_floor_seconds', value: figures.org_hour_io_floor_seconds, target: '', ok: null },
    { figure: 'org_hour_io_floor_servers_cpu_seconds', value: figures.org_hour_io_floor_servers_cpu_seconds, target: '', ok: null },
    { figure: 'org_hour_overhead_ratio', value: figures.org_hour_overhead_ratio, target: '', ok: null },
    { figure: 'org_hour_peak_rss_mb', value: figures.org_hour_peak_rss_mb, target: '< 1024', ok: figures.org_hour_peak_rss_mb < 1024 },
    { figure: 'fairness_max_tick_delay', value: figures.fairness_max_tick_delay, target: '≤ 1', ok: figures.fairness_max_tick_delay <= 1 },
  ];
  if (values.json) {
    console.log(JSON.stringify(figures, null, 2));
  } else {
    const s = figures.setup;
    console.log(`${s.campaigns} campaigns × ${s.rules} rules × ${s.windows} windows; ${s.actions} actions, ${s.decisions_recorded} decisions recorded; json-rules-engine measured on ${s.json_rules_engine_campaigns_measured} campaigns\n`);
    const width = Math.max(...rows.map((r) => r.figure.length));
    console.log(`| ${'figure'.padEnd(width)} | ${'value'.padStart(10)} | target  |        |`);
    console.log(`| ${'-'.repeat(width)} | ${'-'.repeat(10)} | ------- | ------ |`);
    for (const r of rows) console.log(`| ${r.figure.padEnd(width)} | ${String(r.value).padStart(10)} | ${r.target.padEnd(7)} | ${r.ok === null ? '      ' : r.ok ? 'ok    ' : 'MISSED'} |`);
  }
  if (rows.some((r) => r.ok === false)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
