// The CDK app: `npx cdk deploy` (or `npm run synth` offline). Context: stage, orgSecretPrefix,
// workerConcurrency, secretName or secretArn (the default org), defaultOrgId, adAccountId,
// alarmEmail, retentionDays, apiBaseUrl, rulesDir, wireProfile, maxChangePercent (README, "Deploying to AWS").
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext, shippedRules } from './config';
import { AutopilotStack } from './stack';

export function buildApp(app: App = new App()): { app: App; stack: AutopilotStack } {
  const config = configFromContext(app.node);
  const rules = shippedRules(config.rulesDir);
  for (const warning of rules.warnings) console.warn(`rule warning: ${warning}`);
  const stack = new AutopilotStack(app, `ThradAutopilot-${config.stage}`, {
    config,
    rules,
    description: `Thrad autopilot (${config.stage}): scheduled rules acting on Thrad campaigns, with a DynamoDB audit trail`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (require.main === module) {
  try {
    buildApp().app.synth();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
