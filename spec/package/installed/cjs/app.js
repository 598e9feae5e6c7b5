// A CommonJS app: loads everything with `require`, as a plain-Node CommonJS app does, then runs ../scenarios.mjs.
const express = require("express");
const session = require("express-session");
const cookieParser = require("cookie-parser");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const EmailPassword = require("supertokens-node/recipe/emailpassword");
const { middleware, errorHandler } = require("supertokens-node/framework/express");
const migrate = require("supertokens-migrate");
const devCore = require("supertokens-migrate/dev-core");

import("../scenarios.mjs")
  .then(({ run }) =>
    run({
      moduleSystem: "cjs",
      resolved: require.resolve("supertokens-migrate"),
      resolvedDevCore: require.resolve("supertokens-migrate/dev-core"),
      express,
      session,
      cookieParser,
      supertokens,
      Session,
      EmailPassword,
      framework: { middleware, errorHandler },
      migrate,
      devCore,
    }),
  )
  .then(
    () => process.exit(0), // the SDK and keep-alive sockets may hold the event loop open
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
