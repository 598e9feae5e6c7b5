// Lint: typescript-eslint's type-aware recommended rules over everything tsconfig.json covers, plus the few
// rules below. Formatting is Prettier's job (npm run format:check), so no stylistic rules here.
import js from "@eslint/js";
import comments from "@eslint-community/eslint-plugin-eslint-comments/configs";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "spec/artifacts/", "spec/fixtures/", "demo-app/data/", ".bench-out/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  comments.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // An `any` that stays says why, in the disable comment next to it (`-- reason`).
      "@typescript-eslint/no-explicit-any": "error",
      // Prettier wraps code at 120 but leaves long strings, template literals and comments alone; this keeps them
      // within the same width (split strings with +, rewrap comments). URLs may run over.
      "max-len": ["error", { code: 120, ignoreUrls: true }],
      "@eslint-community/eslint-comments/require-description": ["error", { ignore: [] }],
      "@eslint-community/eslint-comments/disable-enable-pair": ["error", { allowWholeFile: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      // Off on purpose: `async` without `await` is how this codebase implements Promise-returning interfaces
      // synchronously (MemoryStorage, the in-process coordinator, SDK overrides, route handlers): a throw inside
      // becomes a rejection, as callers of the interface expect, and the signature says "returns a promise".
      "@typescript-eslint/require-await": "off",
      // Passing on a caught value unchanged (a deadline that forwards the wrapped promise's rejection, a client
      // call that threw synchronously) is deliberate: it is `unknown`, and wrapping it would change what callers
      // see. Rejecting with a literal that is not an Error is still reported.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
      // node:test's describe/it/before/after return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["describe", "it", "test", "suite", "before", "after", "beforeEach", "afterEach"],
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read HTTP response bodies (supertest's `body` is `any` by design) and JSON fixtures: member access on
    // them is the point of the test, and a wrong shape fails the assertion next to it.
    files: ["spec/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // Specs and benches hand the fakes' methods around on their own (legacyAuth({ findUserByEmail:
      // store.findUserByEmail }), destructured fixtures); the fakes are closures and never read `this`.
      "@typescript-eslint/unbound-method": "off",
    },
  },
  {
    files: ["demo-app/public/**"],
    // The SuperTokens web SDK bundles, loaded by <script> tags before app.js, define these.
    languageOptions: {
      globals: {
        ...globals.browser,
        supertokens: "readonly",
        supertokensSession: "readonly",
        supertokensEmailPassword: "readonly",
      },
    },
  },
  {
    // A CommonJS app that the package specs install the packed tarball into: require() is what it tests.
    files: ["spec/package/installed/cjs/**"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Plain JavaScript (scripts, the demo's browser code, test fixture apps): no type information to lint with.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
