import createDebug from "debug";

/** Root logger; each folder of lib/ takes a child with `.extend()`. Enable with DEBUG=supertokens-migrate:*. */
export const log = createDebug("supertokens-migrate");
