// typescript-eslint's recommended rules over the sources, the tests and the
// few plain scripts. Layout is Prettier's job: eslint-config-prettier turns off
// every rule that would disagree with it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', '.venv/', '.sandbox/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A leading underscore marks a parameter a signature needs but the body
      // does not (Express's four-argument error handler, destructuring to omit).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Sanitisers and redaction match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['sandbox/slack-page/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Tests read untyped JSON off the wire and poke at shapes on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
  {
    // Prettier wraps code at 140 columns; this keeps comments to the same
    // width. Long strings, regular expressions and URLs stay whole, searchable.
    rules: {
      'max-len': ['error', { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
);
