import { PostgresStorage, startDevCore } from "../lib/core/index.js";
import type { DemoConfig } from "./config.js";
import type { Queryable } from "./db.js";

export interface CoreConnection {
  connectionURI: string;
  apiKey?: string;
  description: string;
  close(): Promise<void>;
}

/**
 * A real SuperTokens core when SUPERTOKENS_CONNECTION_URI is set; otherwise the package's dev core in this
 * process, keeping its data in its own schema of the demo's database, so users, sessions and signing keys
 * survive a restart of the demo just as they would with a real core.
 */
export async function connectCore(config: DemoConfig, db: Queryable): Promise<CoreConnection> {
  if (config.connectionUri) {
    return {
      connectionURI: config.connectionUri,
      apiKey: config.apiKey,
      description: `SuperTokens core at ${config.connectionUri}`,
      close: async () => {},
    };
  }
  const storage = await PostgresStorage.create(db, { schema: config.coreSchema });
  const core = await startDevCore({
    storage,
    config: config.accessTokenValidity ? { access_token_validity: config.accessTokenValidity } : {},
  });
  const validity = config.accessTokenValidity ? `, access tokens valid ${config.accessTokenValidity} s` : "";
  return {
    connectionURI: core.url,
    description: `in-process dev core at ${core.url} (data in schema ${config.coreSchema}${validity})`,
    close: () => core.close(),
  };
}
