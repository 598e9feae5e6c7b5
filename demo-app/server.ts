import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { discoverAcme, startAcme } from "./acme.js";
import { displayDataDir, type DemoConfig } from "./config.js";
import { openPglite, openPostgres, type Database } from "./db.js";
import { createLegacyApp } from "./legacy-app.js";
import { Outbox } from "./outbox.js";
import { prepareDatabase } from "./schema.js";
import { openSessionStore, type LegacySessionStore } from "./session-store.js";
import { Story } from "./story.js";
import { errorPage } from "./views/pages.js";
import { safeNext } from "./web.js";

export interface RunningDemo {
  url: string;
  close(): Promise<void>;
}

/** Where the page's "Switch to SuperTokens" button posts. */
export const SWITCH_PATH = "/demo/switch";

/**
 * Start the demo: database (tables and seed on first run), legacy session store, then either the legacy app or,
 * with the migration on, the SuperTokens core and the migrated app. Started on the legacy app, `POST
 * /demo/switch` (the button in the demo guide) starts the core and the migrated app in this process and serves
 * every later request with them: the same store, database and port, so the browsers signed in on the old
 * system arrive at the migrated app with their legacy cookies, as they would after a deploy. Everything it
 * opened is closed by `close()`.
 */
export async function startDemo(config: DemoConfig, log: (line: string) => void): Promise<RunningDemo> {
  /** Closed in reverse order, after the HTTP server. */
  const opened: Array<() => Promise<void>> = [];
  let closeServer: (() => Promise<void>) | undefined;
  const closeAll = async () => {
    await closeServer?.();
    for (const close of opened.reverse()) await close().catch(() => {});
  };
  try {
    // Listen first: a port in use fails at once, not after the database is opened (or created), and
    // SuperTokens' appInfo needs the origin, which with --port 0 is known only now. Until the app is ready,
    // requests are answered 503 with Retry-After.
    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const story = new Story(config.migration ? "supertokens" : "legacy", config.switchable, log);
    /** Starts the core and the migrated app; set once the database and store are open. */
    let startMigrated: () => Promise<void> = () => Promise.reject(new Error("the demo is still starting"));
    const switchRoute = switchHandler({
      story,
      switchable: config.switchable,
      startMigrated: () => startMigrated(),
      log,
    });
    const server = createServer((req, res) => {
      // A plain string test: a request line that is no valid URL goes on to the app's own 404, not a throw.
      if (handler && (req.url ?? "").split("?")[0] === SWITCH_PATH) return switchRoute(req, res);
      if (handler) return handler(req, res);
      res.writeHead(503, { "retry-after": "1" }).end("starting\n");
    });
    await listen(server, config.port, config.host);
    closeServer = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });

    if (!config.databaseUrl) {
      const where = displayDataDir(config.dataDir);
      log(
        existsSync(path.join(config.dataDir, "pgdata"))
          ? `opening the embedded database in ${where}`
          : `creating the embedded database in ${where} (first run; this takes a while)`,
      );
    }
    const db: Database = config.databaseUrl
      ? await openPostgres(config.databaseUrl, config.schema)
      : await openPglite(config.dataDir, displayDataDir(config.dataDir));
    opened.push(() => db.close());
    const { seeded } = await prepareDatabase(db);
    if (seeded) log("seeded the users table (see demo-app/README.md for their passwords)");

    const sessions: LegacySessionStore = await openSessionStore(config, db);
    opened.push(() => sessions.close());
    const describe = {
      database: db.description,
      sessionStore: sessions.description,
      countSessions: () => sessions.count(),
    };

    const { port } = server.address() as AddressInfo;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

    // "Sign in with Acme": the identity provider runs in this process, on its own loopback port, with both apps'
    // callback URLs registered. Like the users it knows, it is there on the old system and after the switch.
    const acme = await startAcme(url, log);
    opened.push(() => acme.close());

    startMigrated = async () => {
      // Loaded only with the migration on: the legacy app runs without SuperTokens, as it did before.
      const [{ connectCore }, { createMigratedApp }] = await Promise.all([
        import("./core.js"),
        import("./migrated-app.js"),
      ]);
      const core = await connectCore(config, db);
      opened.push(() => core.close()); // closed after the HTTP server, before the session store and database
      const outbox = new Outbox(log);
      const { app } = createMigratedApp({
        db,
        store: sessions.store,
        secret: config.sessionSecret,
        origin: url,
        core,
        outbox,
        log,
        describe,
        story,
        acme: { discoveryUrl: acme.discoveryUrl },
      });
      handler = app;
      log(`SuperTokens: ${core.description}`);
    };

    if (config.migration) {
      await startMigrated();
    } else {
      handler = createLegacyApp({
        db,
        store: sessions.store,
        secret: config.sessionSecret,
        describe,
        story,
        acme: { config: await discoverAcme(acme.issuer), origin: url, log },
      });
    }
    log(`database: ${db.description}; legacy sessions: ${sessions.description}`);
    return { url, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * `POST /demo/switch?next=/path`: move the running demo to SuperTokens once (later posts just go back), then
 * send the browser back to the page it came from, where its legacy session is converted. Only from the demo's
 * own pages (a cross-site form must not flip it), and only a POST, so no link preview or prefetch switches.
 */
export function switchHandler(options: {
  story: Story;
  switchable: boolean;
  startMigrated: () => Promise<void>;
  log: (line: string) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { story, switchable, startMigrated, log } = options;
  let switching: Promise<void> | undefined;
  const page = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers })
      .end(errorPage({ system: story.system }, status, message));

  return (req, res) => {
    if (req.method !== "POST")
      return page(res, 405, "The switch is a button on every page of the demo.", { allow: "POST" });
    if (!fromOwnPage(req)) {
      const { origin, "sec-fetch-site": site } = req.headers;
      log(`refused a switch from another site (origin ${origin ?? "none"}, sec-fetch-site ${site ?? "none"})`);
      return page(res, 403, "The switch only works from the demo's own pages.");
    }
    const next = safeNext(new URL(req.url ?? "/", "http://demo").searchParams.get("next") ?? "/");
    if (story.system === "supertokens") return res.writeHead(303, { location: next }).end();
    if (!switchable)
      return page(
        res,
        409,
        "This demo was started with --no-switch. Stop it and start it again with: npm run demo -- --migration",
      );
    switching ??= startMigrated().then(
      () => {
        story.switched();
        log("switched to SuperTokens in this process: dualSession() and legacyAuth() now serve every request");
      },
      (err: unknown) => {
        switching = undefined;
        throw err;
      },
    );
    switching.then(
      () => res.writeHead(303, { location: next }).end(),
      (err: unknown) => {
        log(`the switch to SuperTokens failed: ${(err as Error)?.message ?? String(err)}; still on the old system`);
        page(
          res,
          503,
          "The switch to SuperTokens failed (see the demo's terminal). The app is still on the old " +
            "system; try again in a few seconds.",
          { "retry-after": "5" },
        );
      },
    );
  };
}

/**
 * A browser says where a form post comes from (Sec-Fetch-Site, or else Origin). A request with neither is no
 * browser's (curl), and carries no cookies a cross-site page could borrow.
 */
function fromOwnPage(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined) return site === "same-origin" || site === "none";
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false; // "null": a sandboxed frame or a redirect from elsewhere
  }
}

/** `server.listen`, with a port in use named as such and the way out (`--port`). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new Error(
              `port ${port} on ${host} is in use (another demo still running?): stop it, or start this one on ` +
                `another port with --port N (or PORT=N); --port 0 picks a free one`,
              { cause: err },
            )
          : err,
      ),
    );
    server.listen(port, host, () => resolve());
  });
}
