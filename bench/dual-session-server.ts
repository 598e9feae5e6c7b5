// The app under load for bench/dual-session.ts, in its own process: `verifySession()` and `dualSession()`
// side by side on one Express app, one SDK, one store, so the two figures differ only in the middleware.
// Prints "listening on <url>". Args: <core url>. Env: REDIS_URL (connect-redis store; MemoryStore without).
import { createRequire } from "node:module";
import express from "express";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { createClient } from "redis";
import { dualSession, sessionOf } from "../lib/index.js";

const require = createRequire(import.meta.url);
const coreUrl = process.argv[2];
const SECRET = "bench-secret";

type Store = {
  get(sid: string, cb: (e: unknown, v?: unknown) => void): unknown;
  destroy(sid: string, cb?: (e?: unknown) => void): unknown;
};

async function main() {
  const session = require("express-session");
  let store: Store;
  if (process.env.REDIS_URL) {
    const client = createClient({ url: process.env.REDIS_URL });
    await client.connect();
    const { RedisStore } = require("connect-redis");
    store = new RedisStore({ client, prefix: process.env.BENCH_REDIS_PREFIX ?? "bench:" });
  } else {
    store = new session.MemoryStore();
  }
  // Count every legacy store read: the valid-session path must make none.
  let storeGets = 0;
  const get = store.get.bind(store);
  store.get = (sid, cb) => {
    storeGets++;
    return get(sid, cb);
  };

  supertokens.init({
    supertokens: { connectionURI: coreUrl },
    appInfo: {
      appName: "bench",
      apiDomain: "http://localhost:3001",
      websiteDomain: "http://localhost:3000",
      apiBasePath: "/auth",
    },
    recipeList: [Session.init({ getTokenTransferMethod: () => "cookie" })],
  });
  const app = express();
  app.use(middleware());
  const me = (req: express.Request, res: express.Response) => res.json({ userId: sessionOf(req)?.getUserId() ?? null });
  app.get("/plain/me", verifySession() as unknown as express.RequestHandler, me);
  app.get("/dual/me", dualSession({ store, secret: SECRET }), me);
  app.get("/plain/open", verifySession({ sessionRequired: false }) as unknown as express.RequestHandler, me);
  app.get("/dual/open", dualSession({ store, secret: SECRET, sessionRequired: false }), me);
  // The same request on the app before the switch: express-session over the same store, nothing of SuperTokens.
  // Its own router, so that no SuperTokens middleware touches the request's express-session object.
  const legacy = express.Router();
  legacy.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  legacy.get("/me", (req, res) => {
    const userId = (req as unknown as { session: { userId?: string } }).session.userId;
    res.json({ userId: userId ?? null });
  });
  app.use("/legacy", legacy);
  app.post("/login/:id", async (req, res) => {
    await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(req.params.id));
    res.json({ ok: true });
  });
  app.get("/stats", (_req, res) => res.json({ storeGets }));
  app.use(errorHandler());
  const server = app.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  });
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + "\n");
  process.exit(1);
});
