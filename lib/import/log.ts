import { log } from "../debug.js";

/** Never pass a password hash to this logger; emails only through maskEmail from lib/auth/log.ts. */
export const importLog = log.extend("import");
