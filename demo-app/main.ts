/**
 * `npm run demo` (migration on) and `npm run demo:legacy` (the app before the migration). Prints the URL; stops
 * cleanly on Ctrl-C or SIGTERM, so the embedded database is closed before the next start opens it.
 */
import { resolveDemoConfig } from "./config.js";
import { startDemo } from "./server.js";

const log = (line: string) => console.log(`[demo] ${line}`);

async function main(): Promise<void> {
  const config = resolveDemoConfig(process.argv.slice(2), process.env);
  const demo = await startDemo(config, log);
  const mode = config.migration
    ? "migration ON: SuperTokens + dualSession() + legacyAuth()"
    : "legacy: express-session, migration off";
  console.log(`Notes demo (${mode}) listening on ${demo.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    demo.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err) => {
  console.error(`demo failed to start: ${(err as Error)?.message ?? String(err)}`);
  process.exit(1);
});
