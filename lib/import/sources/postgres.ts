import type { Client } from "pg";
import { ConfigError, MigrateError, UnavailableError } from "../../errors.js";
import { importLog } from "../log.js";
import type { RawRow } from "./index.js";

const fetchSize = 2000;

/** pg is optional: only a PostgreSQL source needs it, so it is loaded on demand. */
async function newClient(url: string): Promise<Client> {
  let mod: { default?: { Client: typeof Client }; Client?: typeof Client };
  try {
    mod = await import("pg");
  } catch (err) {
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_DEPENDENCY",
      `import: reading from PostgreSQL needs the \`pg\` package (npm install pg). ${(err as Error).message}`,
    );
  }
  const PgClient = mod.default?.Client ?? mod.Client!;
  return new PgClient({ connectionString: url, application_name: "supertokens-migrate import" });
}

/**
 * Rows of `query`, fetched through a cursor so a million users are never one result set, inside a READ ONLY
 * transaction: the import reads the legacy database and must never be able to change it.
 */
export async function* readPostgres(url: string, query: string): AsyncGenerator<RawRow> {
  const client = await newClient(url);
  client.on("error", (err) => importLog("legacy database connection error: %s", err.message));
  try {
    await client.connect();
  } catch (err) {
    // The message of a connection error never holds the URL, so no password leaks into it.
    throw new UnavailableError(
      "ERR_MIGRATE_STORE_UNAVAILABLE",
      `import: cannot connect to the legacy database: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    await client.query("BEGIN TRANSACTION READ ONLY");
    try {
      await client.query(`DECLARE supertokens_migrate_import NO SCROLL CURSOR FOR ${query}`);
    } catch (err) {
      throw new MigrateError("ERR_MIGRATE_BAD_INPUT", `import: the query failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let row = 0;
    for (;;) {
      const page = await client.query(`FETCH FORWARD ${fetchSize} FROM supertokens_migrate_import`);
      if (page.rows.length === 0) break;
      for (const values of page.rows as Record<string, unknown>[]) yield { row: ++row, values };
    }
    await client.query("COMMIT");
  } finally {
    await client.end().catch(() => {});
  }
}
