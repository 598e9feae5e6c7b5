export type { HashFormat, PasswordVerifier, VerifyOptions, VerifyResult } from "./types.js";
export { detectHashFormat } from "./detect.js";
export { verifyPassword } from "./verify.js";
export { dummyVerify, DEFAULT_DUMMY_HASH } from "./dummy-verify.js";
export { hashPassword, resolveHashPasswordConfig } from "./hash-password.js";
export type { HashPasswordConfig, HashPasswordOptions } from "./hash-password.js";
export { checkImportFormat, coreImportable } from "./import-format.js";
export type { ImportAlgorithm, ImportFormatOptions, ImportFormatResult } from "./import-format.js";
