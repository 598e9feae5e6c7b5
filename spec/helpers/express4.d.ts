/**
 * Express 4 is installed under the alias `express4` (package.json) so that specs can run the same app on both
 * majors. It ships no types of its own; the Express 5 declarations describe everything the specs call.
 */
declare module "express4" {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- `export =` of a CommonJS module needs this form
  import express = require("express");
  export = express;
}
