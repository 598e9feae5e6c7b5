/** `supertokens-migrate export` as a function: read a SuperTokens core's PostgreSQL tables, write NDJSON or CSV. */
export { exportSuperTokens, formatExportReport, type ExportReport } from "./export.js";
export type { ExportConfig, ExportFormat, ExportOptions, ExportQueryable } from "./options.js";
export type { ExportedResetToken, ExportedUser } from "./read.js";
export type { ExportedKey } from "./keys.js";
export { exportFormatName, exportFormatVersion } from "./write.js";
