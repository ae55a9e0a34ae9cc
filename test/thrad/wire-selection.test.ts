// How a wire profile is selected without a code change: THRAD_WIRE_PROFILE for the CLI and the
// runner (local config) and for the Lambda handler, and the CDK context `wireProfile`, which the
// stack passes to the function as THRAD_WIRE_PROFILE. An unknown name is refused everywhere.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { HandlerConfigError } from '../../functions/handlers/errors';
import { createWorkerHandler } from '../../functions/handlers/worker';
import { loadConfig } from '../../functions/local/config';
import { ConfigError } from '../../functions/local/errors';
import { buildApp } from '../../infra/app';
import { configFromContext, RuleSynthError } from '../../infra/config';

const fnEnvironment = (context: Record<string, unknown>): Record<string, unknown> => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const template = Template.fromStack(buildApp(app).stack);
  // The worker is the function that speaks to the API.
  const fns = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  const worker = fns.find((fn) => 'THRAD_WIRE_PROFILE' in fn.Properties.Environment.Variables);
  if (!worker) throw new Error('no function with THRAD_WIRE_PROFILE');
  return worker.Properties.Environment.Variables;
};

describe('wire profile selection', () => {
  it.each([
    [undefined, 'reference'],
    ['', 'reference'],
    [' legacy ', 'legacy'],
    ['reference', 'reference'],
  ])('THRAD_WIRE_PROFILE=%j → %s (local config)', (value, expected) => {
    const env = value === undefined ? {} : { THRAD_WIRE_PROFILE: value };
    expect(loadConfig({}, env, '/tmp').wireProfile).toBe(expected);
  });

  it('refuses an unknown THRAD_WIRE_PROFILE, naming the variable and the value', () => {
    expect(() => loadConfig({}, { THRAD_WIRE_PROFILE: 'openai' }, '/tmp')).toThrow(ConfigError);
    expect(() => loadConfig({}, { THRAD_WIRE_PROFILE: 'openai' }, '/tmp')).toThrow(/^THRAD_WIRE_PROFILE: .* \(found "openai"\)$/);
  });

  it('the Lambda refuses an unknown THRAD_WIRE_PROFILE at cold start', async () => {
    const handler = createWorkerHandler({ env: { AUDIT_TABLE_NAME: 'audit', THRAD_WIRE_PROFILE: 'openai', THRAD_RULES_JSON: '[]' } });
    const error = await handler({ Records: [] }, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlerConfigError);
    expect((error as Error).message).toBe('THRAD_WIRE_PROFILE must be one of reference, legacy (got "openai").');
  });

  it('CDK context wireProfile becomes the function’s THRAD_WIRE_PROFILE (default reference)', () => {
    expect(configFromContext(new App().node).wireProfile).toBe('reference');
    expect(fnEnvironment({ wireProfile: 'legacy' })).toMatchObject({ THRAD_WIRE_PROFILE: 'legacy' });
    expect(() => fnEnvironment({ wireProfile: 'openai' })).toThrow(new RuleSynthError('Context wireProfile must be one of reference, legacy (got "openai").'));
  });
});
