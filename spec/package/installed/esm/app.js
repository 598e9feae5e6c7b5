// An ES module app: loads everything with `import`, as a plain-Node ESM app does, then runs ../scenarios.mjs.
import { fileURLToPath } from "node:url";
import express from "express";
import session from "express-session";
import cookieParser from "cookie-parser";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import { middleware, errorHandler } from "supertokens-node/framework/express";
import * as migrate from "supertokens-migrate";
import * as devCore from "supertokens-migrate/dev-core";
import { run } from "../scenarios.mjs";

await run({
  moduleSystem: "esm",
  resolved: fileURLToPath(import.meta.resolve("supertokens-migrate")),
  resolvedDevCore: fileURLToPath(import.meta.resolve("supertokens-migrate/dev-core")),
  express,
  session,
  cookieParser,
  supertokens,
  Session,
  EmailPassword,
  framework: { middleware, errorHandler },
  migrate,
  devCore,
});
process.exit(0); // the SDK and keep-alive sockets may hold the event loop open
