import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DemoConfig } from "./config.js";
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
  const opened: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of opened.reverse()) await close().catch(() => {});
  };
  try {
    if (!config.databaseUrl)
      log(`opening the embedded database in ${config.dataDir} (the first run creates it, which takes a while)`);
    const db: Database = config.databaseUrl
      ? await openPostgres(config.databaseUrl, config.schema)
      : await openPglite(config.dataDir);
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

    // Listen first: SuperTokens' appInfo needs the origin, and with --port 0 the port is known only now.
    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const server = createServer((req, res) => {
      if (handler) return handler(req, res);
      res.writeHead(503, { "retry-after": "1" }).end("starting\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
    opened.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
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
      opened.splice(1, 0, () => core.close()); // closed after the HTTP server, before the database
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
