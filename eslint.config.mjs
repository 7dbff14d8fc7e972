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
    'fs', 'fs/promises', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'dns', 'url', 'util', 'stream', 'events', 'worker_threads', 'process', 'timers', 'zlib', 'readline', 'tty', 'cluster', 'module', 'vm', 'buffer',
  ].map((name) => ({ name, message: 'Workflow code may not import Node built-ins.' })),
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
    // operator CLI; plan rendering shows the plan's own argument vectors (src/plan/commands.ts) and
    // never reaches into the activities that run them.
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
        { patterns: [{ group: ['**/client', '**/client/*'], message: 'The twin may not import the operator CLI (src/client); share through src/ instead.' }] },
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
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
