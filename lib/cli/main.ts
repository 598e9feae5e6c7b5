#!/usr/bin/env node
import { Command } from "commander";
import { devCoreCommand } from "./dev-core.js";
import { exportCommand } from "./export.js";
import { finishCommand } from "./finish.js";
import { importCommand } from "./import.js";
import { statusCommand } from "./status.js";
import { packageVersion } from "../version.js";

const program = new Command()
  .name("supertokens-migrate")
  .description("Move an express-session app to SuperTokens and back, without logging anyone out.")
  .version(packageVersion, "-V, --version", "print the package version");

program.addCommand(devCoreCommand());
program.addCommand(exportCommand());
program.addCommand(importCommand());
program.addCommand(statusCommand());
program.addCommand(finishCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`supertokens-migrate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
