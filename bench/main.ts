// `npm run bench [-- --json]`: every speed and memory figure of the project in one table (or one
// JSON object), with its target. Figures are measured here, never asserted in timed unit tests.
import { parseArgs } from 'node:util';
import { runEvaluatorBench } from './evaluator';

interface Row {
  figure: string;
  value: number | string;
  target: string;
  ok: boolean | null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' } }, strict: true });
  const figures: Record<string, number | string> = {};
  const rows: Row[] = [];

  const evaluator = await runEvaluatorBench();
  Object.assign(figures, evaluator);
  rows.push(
    { figure: 'evaluations_per_second', value: evaluator.evaluations_per_second, target: '', ok: null },
    { figure: 'json_rules_engine_evaluations_per_second', value: evaluator.json_rules_engine_evaluations_per_second, target: '', ok: null },
    { figure: 'evaluator_ratio', value: evaluator.evaluator_ratio, target: '≥ 50', ok: evaluator.evaluator_ratio >= 50 },
    { figure: `full_evaluation_ms (${evaluator.rules} rules × ${evaluator.campaigns} campaigns)`, value: evaluator.full_evaluation_ms, target: '< 100', ok: evaluator.full_evaluation_ms < 100 },
  );

  if (values.json) {
    console.log(JSON.stringify(figures, null, 2));
  } else {
    const width = Math.max(...rows.map((r) => r.figure.length));
    console.log(`${'figure'.padEnd(width)}  ${'value'.padStart(14)}  target    `);
    for (const r of rows) console.log(`${r.figure.padEnd(width)}  ${String(r.value).padStart(14)}  ${r.target.padEnd(8)}  ${r.ok === null ? '' : r.ok ? 'ok' : 'MISSED'}`);
  }
  if (rows.some((r) => r.ok === false)) process.exitCode = 1;
}

void main();
