// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const LIBS = ['flows', 'connectors', 'sandbox', 'platform', 'queue', 'store'];

/**
 * The walls between the rooms (docs/architecture.md): which libs each may import. A lib is
 * imported through its index, but for the named entry points that exist to load less.
 */
const MAY_IMPORT = {
  flows: [],
  connectors: ['flows'],
  sandbox: ['flows'],
  platform: ['flows'],
  queue: ['flows', 'platform'],
  store: ['flows', 'platform'],
};
const ENTRY_POINTS = [
  '@hookflow/flows/transform',
  '@hookflow/flows/files',
  '@hookflow/platform/embedded',
  '@hookflow/platform/preload',
];

// Authors' expressions run in the sandbox: compiled and evaluated in process only in its host,
// in libs/flows (validation) and in unit tests.
const inProcessExpressions = ['@hookflow/flows', '@hookflow/flows/transform'].map((name) => ({
  name,
  importNames: ['InProcessEvaluator', 'compileExpression'],
  message: 'evaluate expressions with the ExpressionSandbox (@hookflow/sandbox)',
}));

function restrictedImports({ paths = [], patterns = [] }) {
  return [
    'error',
    {
      paths,
      patterns: [
        {
          group: ['@hookflow/*/*', ...ENTRY_POINTS.map((entry) => `!${entry}`)],
          message: 'import a lib through its index (@hookflow/<lib>)',
        },
        ...patterns,
      ],
    },
  ];
}

const libWalls = LIBS.map((lib) => {
  const forbidden = LIBS.filter((other) => other !== lib && !MAY_IMPORT[lib].includes(other));
  const frameworks = lib === 'flows' ? ['@nestjs/*', 'typeorm', 'pg', 'bullmq', 'ioredis', 'undici'] : [];
  return {
    files: [`libs/${lib}/src/**/*.ts`],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': restrictedImports({
        paths: lib === 'sandbox' ? [] : inProcessExpressions,
        patterns: [
          {
            group: [...forbidden.map((other) => `@hookflow/${other}`), ...frameworks],
            message: `libs/${lib} may import only ${MAY_IMPORT[lib].map((l) => `@hookflow/${l}`).join(', ') || 'no other lib'}`,
          },
        ],
      }),
    },
  };
});

const appWall = (app, other) => ({
  files: [`apps/${app}/src/**/*.ts`],
  ignores: ['**/*.spec.ts'],
  rules: {
    'no-restricted-imports': restrictedImports({
      paths: inProcessExpressions,
      patterns: [{ group: [`**/${other}/src/**`], message: 'the apps never import each other' }],
    }),
  },
});

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
      'no-restricted-imports': restrictedImports({ paths: inProcessExpressions }),
    },
  },
  ...libWalls,
  appWall('api', 'worker'),
  appWall('worker', 'api'),
  // The worker's test-only fakes (src/testing) may evaluate expressions in process, as specs do.
  {
    files: ['**/*.spec.ts', 'apps/worker/src/testing/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  // The dashboard runs in the browser and imports no lib: it is a client of the REST API only.
  {
    files: ['apps/web/**/*.{ts,tsx,mts}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@hookflow/*'], message: 'the dashboard talks to the API over HTTP only' }] },
      ],
    },
  },
  // CommonJS preloads (`node --require`) use require().
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
