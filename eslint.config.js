// Type-aware lint (typescript-eslint), with kernel naming allowed inside src/kernel/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'src/viewer/dist/**', 'src/run/worker.bundle.mjs', 'src/run/worker.frames.bundle.mjs', 'test/property/frames.bundle.mjs', 'test/check/frames.bundle.mjs', 'gupcheck-out/**', '.tmp/**', 'test/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'require-yield': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    // The checker sees only Ops: it must not reach into the kernel model (design.md §1).
    files: ['src/check/**/*.ts', 'src/sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/kernel/**'], message: 'check/ and sim/ must not import the kernel model' }] }],
    },
  },
  {
    files: ['src/viewer/**/*.ts', 'src/report/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/kernel/**', '**/check/**'], message: 'reporters use trace/ only' }] }],
    },
  },
  {
    files: ['eslint.config.js', 'scripts/**/*.mjs', 'bin/**/*.mjs', 'src/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', Buffer: 'readonly' },
    },
  },
);
