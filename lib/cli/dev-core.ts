import { Command, InvalidArgumentError } from "commander";
import { startDevCore } from "../core/server.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError("expected a port number from 0 to 65535");
  return n;
}

function configJson(value: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError("expected a JSON object, e.g. '{\"access_token_validity\":60}'");
}

/** `supertokens-migrate dev-core`: run the in-memory dev core until SIGINT or SIGTERM. */
export function devCoreCommand(): Command {
  return new Command("dev-core")
    .description("Run the SuperTokens dev core (in memory; for tests and demos, not production)")
    .option("-p, --port <port>", "port to listen on (0 picks a free one)", port, 3567)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--api-key <key...>", "require one of these API keys")
    .option("--config <json>", "base core config as JSON", configJson)
    .action(async (opts: { port: number; host: string; apiKey?: string[]; config?: Record<string, unknown> }) => {
      const core = await startDevCore({ port: opts.port, host: opts.host, apiKeys: opts.apiKey, config: opts.config });
      process.stdout.write(`SuperTokens dev core listening on ${core.url}\n`);
      const stop = (signal: string) => {
        process.stdout.write(`received ${signal}, stopping\n`);
        core.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
