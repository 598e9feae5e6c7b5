import { log } from "../debug.js";

/** `supertokens-migrate:status`: what each part of the status read, and why it decided what it did. */
export const statusLog = log.extend("status");
