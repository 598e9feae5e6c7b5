import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { displayDataDir, type DemoConfig } from "./config.js";
import { openPglite, openPostgres, type Database } from "./db.js";
import { createLegacyApp } from "./legacy-app.js";
import { Outbox } from "./outbox.js";
import { prepareDatabase } from "./schema.js";
import { openSessionStore, type LegacySessionStore } from "./session-store.js";

export interface RunningDemo {
  url: string;
  close(): Promise<void>;
}

/**
 * Start the demo: database (tables and seed on first run), legacy session store, then either the legacy app or,
 * with the migration on, the SuperTokens core and the migrated app. Everything it opened is closed by `close()`.
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
    const server = createServer((req, res) => {
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

    if (config.migration) {
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
      });
      handler = app;
      log(`SuperTokens: ${core.description}`);
    } else {
      handler = createLegacyApp({ db, store: sessions.store, secret: config.sessionSecret, describe });
    }
    log(`database: ${db.description}; legacy sessions: ${sessions.description}`);
    return { url, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
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
