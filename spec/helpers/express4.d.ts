/**
 * Express 4 is installed under the alias `express4` (package.json) so that specs can run the same app on both
 * majors. It ships no types of its own; the Express 5 declarations describe everything the specs call.
 */
declare module "express4" {
  import express = require("express");
  export = express;
}
