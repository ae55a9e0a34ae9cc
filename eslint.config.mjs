// Lint gate for `npm test`: type-aware TypeScript rules plus bans that keep tests honest.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const focusedOrSkipped = ['only', 'skip', 'todo'].flatMap((property) =>
  ['it', 'test', 'describe'].map((object) => ({
    object,
    property,
    message: `${object}.${property} leaves tests out of the run; remove it before committing.`,
  })),
);

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.tmp/**', 'coverage/**', '.thrad-rules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['**/*.ts', '**/*.mts'] })),
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      'no-restricted-properties': ['error', ...focusedOrSkipped],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // The console's page script runs in the browser, as a classic script.
    files: ['functions/console/page/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['document', 'window', 'location', 'fetch', 'URLSearchParams', 'Intl', 'setTimeout', 'clearTimeout'].map((name) => [name, 'readonly'])),
    },
    rules: { eqeqeq: ['error', 'always'] },
  },
  {
    files: ['**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
  },
);
