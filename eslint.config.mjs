// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Workflow code is replayed by the Temporal sandbox: anything non-deterministic or Node-only breaks it.
const workflowForbidden = {
  patterns: [
    { group: ['node:*'], message: 'Workflow code may not import Node built-ins.' },
    {
      group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'],
      allowTypeImports: true,
      message: 'Workflow code may only import types from @temporalio/{activity,client,worker}.',
    },
    { group: ['execa', 'execa/*'], allowTypeImports: true, message: 'Workflow code may not run processes.' },
    { group: ['**/activities/*', '**/activities', '**/client/*', '**/simulator/*'], allowTypeImports: true, message: 'Workflow code may only import types from activities, client or simulator.' },
  ],
  paths: [
    'fs',
    'fs/promises',
    'path',
    'os',
    'child_process',
    'crypto',
    'http',
    'https',
    'net',
    'dns',
    'url',
    'util',
    'stream',
    'events',
    'worker_threads',
    'process',
    'timers',
    'zlib',
    'readline',
    'tty',
    'cluster',
    'module',
    'vm',
    'buffer',
  ].map((name) => ({ name, message: 'Workflow code may not import Node built-ins.' })),
};

// Functions still over 80 lines, each held to its length once formatted so it cannot grow (docs/architecture.md
// says why each stays): src/activities/node/ is being rewritten on another branch; runTool and capture
// are the one runner every tool call goes through, whose timeout, cancel and drain paths share their
// locals; watchUpgrade and answerer are polling loops whose state lives in closures; runRehearsal's
// finally undoes exactly what its try set up; the twin's upgrade scripts read top to bottom as the
// tool's own sequence.
const LONG_FUNCTIONS = {
  'src/activities/exec.ts': 154, // runTool (capture: 85)
  'src/activities/node/fence/call.ts': 98, // runFenced
  'src/activities/node/rollback.ts': 96, // rollbackNode
  'src/client/rehearse-answers.ts': 94, // answerer
  'src/client/rehearse.ts': 96, // runRehearsal
  'src/client/watch.ts': 100, // watchUpgrade
  'src/simulator/talosctl/upgrade-k8s.ts': 120, // runUpgradeK8s
  'src/simulator/talosctl/upgrade-lifecycle.ts': 129, // runLifecycleUpgrade
  'src/simulator/talosctl/upgrade.ts': 109, // runLegacyUpgrade
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'test-results/**', 'bin/**', 'test/fixtures/lint/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Layering (docs/architecture.md): no import cycles in the product; the twin stands apart from the
    // operator CLI, and so does src/runtime; activities take only types from the workflow code;
    // src/contract imports nothing of the product but itself; plan rendering shows the plan's own
    // argument vectors (src/plan/commands.ts) and never reaches into the activities that run them.
    files: ['src/**/*.ts', 'test/fixtures/lint/layers/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { ...importX.flatConfigs.typescript.settings, 'import-x/resolver': undefined, 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['src/simulator/**/*.ts', 'test/fixtures/lint/layers/simulator/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/client', '**/client/*'], message: 'The twin may not import the operator CLI (src/client); share through src/contract instead.' }] },
      ],
    },
  },
  {
    // Running Temporal and the worker is below the operator CLI: the CLI starts a worker, never the other way.
    // Relative paths only, so the SDK's own @temporalio/client stays allowed.
    files: ['src/runtime/**/*.ts', 'test/fixtures/lint/layers/runtime/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\.?/(.*/)?client(/|$)', message: 'src/runtime may not import the operator CLI (src/client); share through src/contract instead.' }] },
      ],
    },
  },
  {
    // Activities and workflow code share values only through src/contract; the workflow's payload types stay importable.
    files: ['src/activities/**/*.ts', 'test/fixtures/lint/layers/activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows', '**/workflows/*', '**/workflows/**'],
              allowTypeImports: true,
              message: 'Activities may import only types from the workflow code (src/workflows); shared values live in src/contract.',
            },
          ],
        },
      ],
    },
  },
  {
    // What every layer shares, workflow code included: it imports only itself and sandbox-safe packages.
    files: ['src/contract/**/*.ts', 'test/fixtures/lint/layers/contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./|zod$|@temporalio/common$|@temporalio/workflow$)',
              message: 'src/contract imports only itself, zod, @temporalio/common and @temporalio/workflow: every layer imports it, the workflow sandbox included.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/client/render*.ts', 'test/fixtures/lint/layers/client/render*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/activities', '**/activities/*', '**/activities/**'], message: 'Rendering reads the plan (src/plan), never the activities.' }] },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/plan/**/*.ts', 'test/fixtures/lint/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', workflowForbidden],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }, { name: 'setInterval', message: 'Use sleep() in a loop.' }],
    },
  },
  {
    // Small modules whose names say what they are (docs/architecture.md): a file over 400 lines is
    // split by responsibility, a function over 80 (blank lines and comments aside) is split too.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  ...Object.entries(LONG_FUNCTIONS).map(([file, max]) => ({
    files: [file],
    rules: { 'max-lines-per-function': ['error', { max, skipBlankLines: true, skipComments: true }] },
  })),
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
