// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', '.data/**', 'coverage/**', 'eslint.config.mjs', 'jest.config.js'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Authors' expressions run in the sandbox: compiled and evaluated in process only in its host,
      // in libs/flows (validation) and in unit tests.
      'no-restricted-imports': [
        'error',
        ...['@hookflow/flows', '@hookflow/flows/transform'].map((name) => ({
          name,
          importNames: ['InProcessEvaluator', 'compileExpression'],
          message: 'evaluate expressions with the ExpressionSandbox (@hookflow/sandbox)',
        })),
      ],
    },
  },
  {
    files: ['libs/sandbox/src/**/*.ts', '**/*.spec.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  // CommonJS preloads (`node --require`) use require().
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
