// Lint rules for every TypeScript file in the repository. The type-aware rule sets are left out:
// they need a full program per file and would triple the time `npm test` spends here, while
// `tsc --noEmit` (strict, noUnused*) already checks types.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'plugin/release/out/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // Unused names are tsc's job (noUnusedLocals/noUnusedParameters), which knows `_` prefixes.
      '@typescript-eslint/no-unused-vars': 'off',
      // `typeof import('…')` is how a lazily imported module is typed without loading it.
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      // Terminal output is matched and stripped by its ANSI escapes.
      'no-control-regex': 'off',
      // A value set before a try and replaced inside it is the fallback when the try throws.
      'no-useless-assignment': 'off',
      'no-console': 'off',
    },
  },
  {
    // The build and release scripts are plain Node ESM.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // Tests read untyped JSON back from API servers and tools; `any` there is the honest type.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
