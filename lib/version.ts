/**
 * This package's version, as in package.json. Kept in source so that every build (ES module, CommonJS, the
 * bin) can print it without locating package.json at run time; spec/package/version.spec.ts fails when the
 * two differ, and `npm version` rewrites it through the `version` script.
 */
export const packageVersion = "0.1.0";
