// End-to-end scenarios for the package as users install it. spec/package/installed.spec.ts copies this folder into
// a scratch app outside the repository, next to node_modules holding the packed tarball and real peers from the
// registry, and runs esm/app.js and cjs/app.js under plain `node`. Each entry loads every module with its own
// module system (ES `import` or CommonJS `require`) and passes them here, so the scenarios are written once while
// the package under test is loaded the way that kind of app loads it.
//
// Protocol with the spec: one line `@@scenario {"name","ok","error"}` per scenario, then `@@done`.
import assert from "node:assert/strict";

export const appInfo = {
  appName: "installed package test",
  apiDomain: "http://localhost:3001",
  websiteDomain: "http://localhost:3000",
  apiBasePath: "/auth",
};
const SECRET = "legacy-secret-1";
const PASSWORD = "correct horse battery staple";
/** bcrypt (cost 10) of PASSWORD: imported into the core byte for byte on the first sign-in. */
const PASSWORD_HASH = "$2b$10$OSZlB.A/6sYVrixiJkkWFO.1J59M5Y2PmWC5/mmnbRZDHDObD2dvy";

/**
 * @param {object} m the modules, as the app loaded them
 * @param {"esm" | "cjs"} m.moduleSystem
 * @param {string} m.resolved the file `supertokens-migrate` resolved to in this app
 * @param {string} m.resolvedDevCore the file `supertokens-migrate/dev-core` resolved to
 */
export async function run(m) {
  const { express, session, cookieParser, supertokens, Session, EmailPassword, framework, migrate, devCore } = m;
  const servers = [];
  /** Listen on 127.0.0.1:0 and answer the base URL. */
  const listen = (app) =>
    new Promise((resolve, reject) => {
      const server = app.listen(0, "127.0.0.1");
      server.once("error", reject);
      server.once("listening", () => {
        servers.push(server);
        resolve(`http://127.0.0.1:${server.address().port}`);
      });
    });

  const core = await devCore.startDevCore({ port: 0 });

  // One legacy users "table", in memory, for legacyAuth.
  const legacyUsers = [{ id: "legacy-42", email: "ada@example.com", passwordHash: PASSWORD_HASH }];
  const legacy = migrate.legacyAuth({
    findUserByEmail: async (email) => legacyUsers.filter((u) => u.email === email.trim().toLowerCase()),
    findUserById: async (id) => legacyUsers.find((u) => u.id === id),
  });
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: core.url },
    appInfo,
    recipeList: [
      EmailPassword.init({ override: legacy }),
      // As the README's migration guide: new browser sessions in cookies unless the client asks for headers.
      Session.init({
        getTokenTransferMethod: ({ req, forCreateNewSession }) =>
          !forCreateNewSession ? "any" : req.getHeaderValue("st-auth-mode") === "header" ? "header" : "cookie",
      }),
    ],
  });

  /** The old app: express-session on `store`; POST /login/:id stores the user id as a legacy login would. */
  async function legacyLogin(store, userId) {
    const app = express();
    app.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false }));
    app.post("/login/:id", (req, res) => {
      req.session.userId = req.params.id;
      res.json({ ok: true });
    });
    const res = await fetch(`${await listen(app)}/login/${userId}`, { method: "POST" });
    assert.equal(res.status, 200, "legacy login");
    const cookie = cookiesOf(res)["connect.sid"];
    assert.ok(cookie, "the legacy app set connect.sid");
    return `connect.sid=${cookie}`;
  }

  /** The migrated app: SuperTokens' middleware, dualSession() with default options on /api. */
  async function migratedApp(store, opts = {}) {
    const app = express();
    if (opts.cookieParser !== undefined)
      app.use(opts.cookieParser === "" ? cookieParser() : cookieParser(opts.cookieParser));
    app.use(framework.middleware());
    app.post("/auth/migrate-session", migrate.migrationEndpoint({ store, secret: SECRET }));
    app.use("/api", migrate.dualSession({ store, secret: SECRET }));
    const me = (req, res) => res.json({ userId: migrate.sessionOf(req).getUserId() });
    app.get("/api/me", me);
    app.post("/api/me", me);
    app.use(framework.errorHandler());
    app.use((err, _req, res, _next) => res.status(500).json({ message: String(err && err.message) }));
    return listen(app);
  }

  /** The SuperTokens cookies set on `res` must carry a session of `userId`, usable on the next request. */
  async function assertSuperTokensSession(base, res, userId) {
    const st = cookiesOf(res);
    assert.ok(
      st.sAccessToken,
      `an sAccessToken cookie was set (set-cookie: ${res.headers
        .getSetCookie()
        .map((c) => c.split("=")[0])
        .join(", ")})`,
    );
    const next = await fetch(`${base}/api/me`, { headers: { cookie: `sAccessToken=${st.sAccessToken}` } });
    assert.equal(next.status, 200, "the new session works on the next request without the legacy cookie");
    assert.deepEqual(await next.json(), { userId });
    assert.equal((await Session.getAllSessionHandlesForUser(userId)).length, 1, "exactly one SuperTokens session");
  }

  async function bodyOf(res) {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** A migration through dualSession(): `request(base, cookie)` sends the request carrying the legacy cookie. */
  async function migrates(userId, request, opts) {
    const store = new session.MemoryStore();
    const cookie = await legacyLogin(store, userId);
    const base = await migratedApp(store, opts);
    // The scratch apps share two cores with the rest of the suite: a first session creation can outlast the core
    // timeout. The package then answers 503 with Retry-After and keeps the legacy session, so a client retrying as
    // told is migrated. Anything else (401, 500, a 503 without Retry-After) fails at once.
    let res = await request(base, cookie);
    for (let retries = 2; res.status === 503 && retries > 0; retries--) {
      const after = Number(res.headers.get("retry-after"));
      const refused = await bodyOf(res);
      assert.ok(after > 0, `a 503 carries Retry-After: ${JSON.stringify(refused)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(after, 2) * 1000));
      res = await request(base, cookie);
    }
    const body = await bodyOf(res);
    assert.equal(res.status, 200, `migrated: ${res.status} ${JSON.stringify(body)}`);
    assert.equal(body.userId, userId);
    await assertSuperTokensSession(base, res, userId);
  }
  const get = (base, cookie) => fetch(`${base}/api/me`, { headers: { cookie } });
  const sameOriginPost = (base, cookie) =>
    fetch(`${base}/api/me`, {
      method: "POST",
      headers: { cookie, origin: appInfo.websiteDomain, "content-type": "application/json" },
      body: "{}",
    });

  const scenarios = {
    [`loads supertokens-migrate from dist/${m.moduleSystem}`]: async () => {
      assert.match(m.resolved, new RegExp(`/node_modules/supertokens-migrate/dist/${m.moduleSystem}/index\\.js$`));
      assert.match(
        m.resolvedDevCore,
        new RegExp(`/node_modules/supertokens-migrate/dist/${m.moduleSystem}/core/index\\.js$`),
      );
      assert.ok(!m.resolved.includes("/lib/"), "not the sources");
    },
    "dualSession() migrates a legacy cookie on a GET": () => migrates("user-get", get),
    "dualSession() (default options) migrates a legacy cookie on a same-origin POST (Origin = websiteDomain)": () =>
      migrates("user-post", sameOriginPost),
    "dualSession() refuses a cross-site POST (CSRF rule)": async () => {
      const store = new session.MemoryStore();
      const cookie = await legacyLogin(store, "user-cross-site");
      const base = await migratedApp(store);
      const res = await fetch(`${base}/api/me`, {
        method: "POST",
        headers: { cookie, origin: "https://evil.example" },
      });
      assert.equal(res.status, 401);
      assert.equal((await Session.getAllSessionHandlesForUser("user-cross-site")).length, 0);
    },
    "migrationEndpoint() called as a browser calls it (POST with Origin)": async () => {
      const store = new session.MemoryStore();
      const cookie = await legacyLogin(store, "user-endpoint");
      const base = await migratedApp(store);
      const res = await fetch(`${base}/auth/migrate-session`, {
        method: "POST",
        headers: { cookie, origin: appInfo.websiteDomain },
      });
      const body = await bodyOf(res);
      assert.equal(res.status, 200, `${res.status} ${JSON.stringify(body)}`);
      assert.deepEqual(body, { status: "OK", userId: "user-endpoint" });
      await assertSuperTokensSession(base, res, "user-endpoint");
    },
    "with cookie-parser (no secret) mounted before dualSession(): GET and same-origin POST migrate": async () => {
      await migrates("user-cp-get", get, { cookieParser: "" });
      await migrates("user-cp-post", sameOriginPost, { cookieParser: "" });
    },
    "with cookie-parser (the session secret) mounted before dualSession(): GET and same-origin POST migrate":
      async () => {
        await migrates("user-cps-get", get, { cookieParser: SECRET });
        await migrates("user-cps-post", sameOriginPost, { cookieParser: SECRET });
      },
    "with cookie-parser (another secret) mounted before dualSession(): GET migrates": async () => {
      await migrates("user-cpo-get", get, { cookieParser: "some-other-secret" });
    },
    "legacyAuth(): a legacy user's first sign-in moves them under their legacy id": async () => {
      const base = await migratedApp(new session.MemoryStore());
      const signIn = (password) =>
        fetch(`${base}/auth/signin`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: appInfo.websiteDomain },
          body: JSON.stringify({
            formFields: [
              { id: "email", value: "  Ada@Example.com " },
              { id: "password", value: password },
            ],
          }),
        });
      const wrong = await signIn("wrong password");
      assert.deepEqual(await bodyOf(wrong), { status: "WRONG_CREDENTIALS_ERROR" });
      assert.equal(await supertokens.getUser("legacy-42"), undefined, "a wrong password moves nothing");

      const res = await signIn(PASSWORD);
      const body = await bodyOf(res);
      assert.equal(res.status, 200);
      assert.equal(body.status, "OK", JSON.stringify(body));
      assert.equal(body.user.id, "legacy-42");
      await assertSuperTokensSession(base, res, "legacy-42");
      const user = await supertokens.getUser("legacy-42");
      assert.deepEqual(user && user.emails, ["ada@example.com"]);

      // From now on SuperTokens alone decides: the legacy row is no longer needed.
      legacyUsers.length = 0;
      const again = await signIn(PASSWORD);
      assert.equal((await bodyOf(again)).status, "OK");
    },
  };

  try {
    for (const [name, fn] of Object.entries(scenarios)) {
      let error;
      try {
        await fn();
      } catch (err) {
        error = err && err.stack ? err.stack : String(err);
      }
      process.stdout.write(`@@scenario ${JSON.stringify({ name, ok: error === undefined, error })}\n`);
    }
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await core.close();
  }
  process.stdout.write("@@done\n");
}

/** name → value of the cookies `res` sets (a cleared cookie maps to ""). */
function cookiesOf(res) {
  const out = {};
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(";")[0];
    const i = pair.indexOf("=");
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}
