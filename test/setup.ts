// Per-worker test setup: quiet SDK warnings, and keep CDK's temp output inside the git-ignored .tmp.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.CDK_DISABLE_VERSION_CHECK = '1';
const tmp = resolve(__dirname, '..', '.tmp');
mkdirSync(tmp, { recursive: true });
process.env.TMPDIR = tmp;
