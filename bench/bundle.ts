// The worker function (the one that runs cycles) as Lambda would get it: bundled with the stack's
// settings (local esbuild), its size, and its cold module-load time in a fresh Node process
// (median of several).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { ROOT, shippedRules } from '../infra/config';
import { FUNCTION_BUNDLE, FUNCTION_ENTRIES, type FunctionName } from '../infra/constructs/autopilot-function';

export interface BundleFigures {
  lambda_bundle_kb: number;
  lambda_cold_load_ms: number;
}

/** Bundle a function exactly as the stack does (the shipped rules inlined) into `outfile`. */
export async function buildFunctionBundle(outfile: string, name: FunctionName = 'worker'): Promise<void> {
  mkdirSync(resolve(outfile, '..'), { recursive: true });
  await build({
    entryPoints: [FUNCTION_ENTRIES[name]],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: FUNCTION_BUNDLE.target,
    minify: FUNCTION_BUNDLE.minify,
    sourcemap: FUNCTION_BUNDLE.sourceMap,
    sourcesContent: false,
    external: [...FUNCTION_BUNDLE.externalModules],
    define: FUNCTION_BUNDLE.define(shippedRules(resolve(ROOT, 'rules')).texts),
    outfile,
    logLevel: 'silent',
  });
}

export async function runBundleBench(samples = 7): Promise<BundleFigures> {
  const outfile = resolve(ROOT, '.tmp', 'bench-bundle', 'index.js');
  await buildFunctionBundle(outfile);
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const out = execFileSync(process.execPath, ['-e', `const t=performance.now();require(${JSON.stringify(outfile)});process.stdout.write(String(performance.now()-t))`], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    times.push(Number(out.toString()));
  }
  times.sort((a, b) => a - b);
  return { lambda_bundle_kb: Math.round(statSync(outfile).size / 1024), lambda_cold_load_ms: Math.round((times[Math.floor(times.length / 2)]) * 10) / 10 };
}
