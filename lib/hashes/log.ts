import { log } from "../debug.js";

/** Never pass a password, a hash or any part of one (salt, digest) to this logger: only format names and reasons. */
export const hashLog = log.extend("hashes");
