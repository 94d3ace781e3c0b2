// ESLint for hopx-mcp: typescript-eslint's type-checked rules on src/ and test/, the plain
// JavaScript rules on scripts and benchmarks. Part of `npm run lint` (with tsc, dependency-cruiser
// and knip); main must stay clean.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'build/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // src/ is in ./tsconfig.json, test/ in test/tsconfig.json.
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its error; write `void` where dropping it is meant.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A variable made once, later, and read by closures made before it (lazy start-up objects).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `x[0]!` is how many here say "present": harmless, and not worth a rule that fights it.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Handlers implement async interfaces; one that happens not to await is fine.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // No module-level mutable state in src/ (docs/conventions.md convention 8): what a process
    // shares is an object made at start and passed in. These catch the usual shapes; a Set or Map
    // built from a literal list is a lookup table and stays allowed.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['Program > VariableDeclaration', 'Program > ExportNamedDeclaration > VariableDeclaration'].flatMap((decl) => [
          {
            selector: `${decl}[kind=/^(let|var)$/]`,
            message: 'No module-level mutable state: make it a field of an object created at start and passed in (docs/conventions.md convention 8).',
          },
          {
            selector: `${decl} > VariableDeclarator > NewExpression.init[callee.name=/^(Map|Set|WeakMap|WeakSet|Array)$/][arguments.length=0]`,
            message: 'No module-level collections that fill up: keep them in an object created at start and passed in (docs/conventions.md convention 8).',
          },
          {
            selector: `${decl} > VariableDeclarator > ArrayExpression.init[elements.length=0]`,
            message: 'No module-level collections that fill up: keep them in an object created at start and passed in (docs/conventions.md convention 8).',
          },
        ]),
        {
          selector: 'PropertyDefinition[static=true][readonly!=true]',
          message: 'A static field that can change is module-level state: make it readonly, or an instance field (docs/conventions.md convention 8).',
        },
      ],
    },
  },
  {
    // Tests read wire payloads as loose JSON, and their fakes implement async interfaces.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      'preserve-caught-error': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);
