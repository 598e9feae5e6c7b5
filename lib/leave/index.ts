export { leaveSuperTokens, type LeaveSuperTokensOptions } from "./leave-supertokens.js";
export { verifyExportedPassword } from "./verify-exported-hash.js";
