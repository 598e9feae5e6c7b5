/**
 * `npm run demo` (the app before the migration, with a button that switches it to SuperTokens while it runs) and
 * `npm run demo:legacy` (the old app alone). Prints the URL; stops cleanly on Ctrl-C or SIGTERM, so the embedded
 * database is closed before the next start opens it.
 */
import { resolveDemoConfig } from "./config.js";
import { startDemo } from "./server.js";

const log = (line: string) => console.log(`[demo] ${line}`);

async function main(): Promise<void> {
  const config = resolveDemoConfig(process.argv.slice(2), process.env);
  const demo = await startDemo(config, log);
  const mode = config.migration
    ? "migration ON: SuperTokens + dualSession() + legacyAuth()"
    : config.switchable
      ? "on the old system: express-session; the page's button switches it to SuperTokens"
      : "legacy: express-session, no switch";
  console.log(`Notes demo (${mode}) listening on ${demo.url}`);
  if (config.switchable) console.log(`Open ${demo.url}, sign in as alice@example.com / alice-pass-1, then switch.`);

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
