// Type-aware lint for every workspace; `npm run lint`, part of `npm test` (docs/ARCHITECTURE.md, "Style gates").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'coverage/**', '.bench/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Ports return promises; an adapter that needs no await (the in-memory one) still implements the async signature.
      '@typescript-eslint/require-await': 'off',
      // Refusing control characters is what several validators are for.
      'no-control-regex': 'off',
      // A union such as `'here' | string` documents a distinguished value.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // `let x; … () => x …; x = build()`: a closure that reads a value built after it is not a constant.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_name` marks a parameter a signature requires but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/test/**/*.ts'],
    rules: {
      // Tests poke into JSON they receive (replies, stream events, REST bodies), and vitest's asymmetric
      // matchers (expect.stringContaining, expect.any …) are typed `any`; source code types what it parses.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
