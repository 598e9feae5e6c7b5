/**
 * supertokens-node's per-call `userContext`: an object the SDK threads through recipe functions and APIs, which
 * this package passes on untouched. One type for every module that forwards it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as supertokens-node's own UserContext
export type UserContext = Record<string, any>;
