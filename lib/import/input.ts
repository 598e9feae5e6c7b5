import { ConfigError } from "../errors.js";
import { CompactSet } from "./compact-set.js";
import { importLog } from "./log.js";
import { defaultColumns, type ImportConfig, type ImportField } from "./options.js";
import { signInEmailRule, toSourceUser, type RowProblem, type SourceUser } from "./rows.js";
import { readSource } from "./sources/index.js";

/**
 * The source's rows read into users or problems, in order, one at a time: the import reads its input several times
 * (a scan, then the import) instead of holding it. The app's email rule runs once per row, in the first read
 * (`check`: it collects the emails it refuses, with its message, and every column name seen); later reads take its
 * answers from there.
 */
export async function* readUsers(
  config: ImportConfig,
  now: number,
  emails:
    | { check: true; refused: Map<string, string>; columns: Set<string> }
    | { check: false; refused: ReadonlyMap<string, string> },
): AsyncGenerator<SourceUser | RowProblem> {
  const validate = config.validateEmail ?? signInEmailRule;
  for await (const raw of readSource(config.source)) {
    if (emails.check && "values" in raw) for (const key of Object.keys(raw.values)) emails.columns.add(key);
    const row = toSourceUser(raw, config, now);
    if ("reason" in row) {
      yield row;
      continue;
    }
    // A user the app's sign-in refuses could never sign in: never imported (issue 14).
    let refused: string | undefined;
    if (emails.check) {
      refused = await validate(row.email);
      if (refused !== undefined) emails.refused.set(row.email, refused);
    } else refused = emails.refused.get(row.email);
    yield refused === undefined
      ? row
      : {
          row: row.row,
          id: row.id,
          reason: "invalid-email",
          detail: `the app's sign-in would refuse this email: ${refused}`,
        };
  }
}

/**
 * What the whole input says about each row before any row is decided: how many rows there are, and which ids and
 * emails more than one row has (T22: such rows fail, all of them, whichever comes first). Kept as hashes; the few
 * keys two rows share by hash are counted again by string, so a hash collision never fails a row.
 */
export interface InputScan {
  rows: number;
  /** Every id of a row that can be a user: the import's own users, e.g. to find their failed queue rows. */
  ids: { has(id: string): boolean };
  /** Rows with this id (0 when the scan did not see it, 1 when unique). */
  idCount(id: string): number;
  emailCount(email: string): number;
  /** Emails the app's email rule refused, with its message (readUsers). */
  refused: ReadonlyMap<string, string>;
  /** Bytes of the scan's tables, for the debug log and the benchmark. */
  bytes: number;
}

/** Read the input once: count rows, check its columns, find repeated ids and emails. */
export async function scanInput(config: ImportConfig, now: number): Promise<InputScan> {
  const columns = new Set<string>();
  const refused = new Map<string, string>();
  const ids = new CompactSet();
  const emails = new CompactSet();
  let rows = 0;
  for await (const row of readUsers(config, now, { check: true, refused, columns })) {
    rows++;
    if ("reason" in row) continue;
    ids.add(row.id, false, true);
    emails.add(row.email, false, true);
  }
  if (rows > 0) checkColumns(config, columns);
  // Keys flagged as repeated: counted again by string (a second read, only when there are any).
  const repeatedIds = new Map<string, number>();
  const repeatedEmails = new Map<string, number>();
  if (ids.flagged > 0 || emails.flagged > 0) {
    for await (const row of readUsers(config, now, { check: false, refused })) {
      if ("reason" in row) continue;
      if (ids.flag(row.id)) repeatedIds.set(row.id, (repeatedIds.get(row.id) ?? 0) + 1);
      if (emails.flag(row.email)) repeatedEmails.set(row.email, (repeatedEmails.get(row.email) ?? 0) + 1);
    }
  }
  importLog(
    "input: %d rows, %d ids and %d emails (%d and %d repeated by hash), %d kB of hashes",
    rows,
    ids.size,
    emails.size,
    ids.flagged,
    emails.flagged,
    Math.round((ids.bytes + emails.bytes) / 1024),
  );
  const count = (set: CompactSet, exact: Map<string, number>) => (key: string) => {
    const flag = set.flag(key);
    if (flag === undefined) return 0;
    return flag ? (exact.get(key) ?? 1) : 1;
  };
  return {
    rows,
    ids,
    idCount: count(ids, repeatedIds),
    emailCount: count(emails, repeatedEmails),
    refused,
    bytes: ids.bytes + emails.bytes,
  };
}

function checkColumns(config: ImportConfig, columns: Set<string>): void {
  const found = columns.size ? [...columns].join(", ") : "none";
  for (const field of config.mapped) {
    const column = config.columns[field][0];
    if (!columns.has(column))
      throw new ConfigError(
        "ERR_MIGRATE_MISSING_COLUMN",
        `import: --map ${field}=${column}: the source has no column ${JSON.stringify(column)}. Columns found: ` +
          `${found}.`,
      );
  }
  for (const field of ["id", "email"] as ImportField[]) {
    if (config.mapped.includes(field) || defaultColumns[field].some((c) => columns.has(c))) continue;
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_COLUMN",
      `import: the source has no ${field} column (looked for ${defaultColumns[field].join(", ")}). Name it with ` +
        `--map ${field}=<column>. Columns found: ${found}.`,
    );
  }
}
