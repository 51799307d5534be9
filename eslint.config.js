// ESLint flat config: typescript-eslint's recommended rules on every TypeScript file of the monorepo.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/bundle/**',
      '**/node_modules/**',
      'test/fixtures/**',
      'bench/.corpus/**',
      'bench/.venv/**',
      '.nx/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  // The layering, enforced: apps import libs, never each other; libs never import apps; the pure libraries
  // (tag io:none: errors, parser, output, avro) import only pure libraries. Each project's tags are in its
  // package.json ("nx": {"tags"}). Imports go through a package's public entry points only (no relative
  // path into another project, no deep import into its src/ or dist/).
  {
    files: ['libs/**/*.ts', 'apps/**/*.ts'],
    // Tests beside the code may use the repository's shared fixtures and generators under test/.
    ignores: ['**/*.test.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          banTransitiveDependencies: true,
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'io:none', onlyDependOnLibsWithTags: ['io:none'] },
          ],
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@parsedmarc-ts/*/src/*', '@parsedmarc-ts/*/dist/*'],
              message: 'Import the package, not its files.',
            },
          ],
        },
      ],
    },
  },
);
