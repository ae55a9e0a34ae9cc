// `npm run generate`: writes the generated, committed artefacts (JSON Schemas) from their zod
// sources. Tests fail when a committed file differs from what this would write.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fixtureJsonSchema } from '../../sandbox/schema';
import { rulesJsonSchema } from '../rules/schema';

export const ROOT = resolve(__dirname, '..', '..');

export interface GeneratedFile {
  path: string;
  content: string;
}

export function generatedFiles(): GeneratedFile[] {
  return [
    { path: resolve(ROOT, 'rules', 'schema.json'), content: `${JSON.stringify(rulesJsonSchema(), null, 2)}\n` },
    { path: resolve(ROOT, 'sandbox', 'fixtures', 'fixture.schema.json'), content: `${JSON.stringify(fixtureJsonSchema(), null, 2)}\n` },
  ];
}

if (require.main === module) {
  for (const file of generatedFiles()) {
    writeFileSync(file.path, file.content);
    console.log(`wrote ${file.path}`);
  }
}
