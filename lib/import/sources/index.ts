import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { MigrateError } from "../../errors.js";
import type { ImportConfig } from "../options.js";
import { CsvParser } from "./csv.js";
import { readPostgres } from "./postgres.js";

/** One source row by its 1-based position, or why it could not be read at all (it is still reported). */
export type RawRow = { row: number; values: Record<string, unknown> } | { row: number; error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function badInput(message: string, cause?: unknown) {
  return new MigrateError("ERR_MIGRATE_BAD_INPUT", message, { cause });
}

async function* readJson(path: string): AsyncGenerator<RawRow> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8")) as unknown;
  } catch (err) {
    throw badInput(
      `${path}: not valid JSON (${(err as Error).message}). A .json file holds one array of user objects; use ` +
        `.ndjson for one object per line.`,
      err,
    );
  }
  // `{ "users": [...] }` is what the core's own bulk-import script reads.
  const rows = isObject(parsed) && Array.isArray(parsed.users) ? parsed.users : parsed;
  if (!Array.isArray(rows)) throw badInput(`${path}: expected an array of user objects (or { "users": [...] }).`);
  for (let i = 0; i < rows.length; i++) {
    const v: unknown = rows[i];
    yield isObject(v) ? { row: i + 1, values: v } : { row: i + 1, error: "not a JSON object" };
  }
}

async function* readNdjson(path: string): AsyncGenerator<RawRow> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let row = 0;
  for await (const line of lines) {
    const text = row === 0 ? line.replace(/^\uFEFF/, "") : line;
    row++;
    if (text.trim() === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      yield { row, error: "not valid JSON" };
      continue;
    }
    yield isObject(v) ? { row, values: v } : { row, error: "not a JSON object" };
  }
}

async function* readCsv(path: string): AsyncGenerator<RawRow> {
  const parser = new CsvParser();
  let header: string[] | undefined;
  let row = 0;
  function* records(batch: string[][]): Generator<RawRow> {
    for (const record of batch) {
      if (!header) {
        header = record.map((h) => h.trim());
        const dup = header.find((h, i) => header!.indexOf(h) !== i);
        if (dup !== undefined) throw badInput(`${path}: the header names column ${JSON.stringify(dup)} twice.`);
        continue;
      }
      row++;
      if (record.length !== header.length) {
        yield { row, error: `has ${record.length} fields; the header has ${header.length}` };
        continue;
      }
      const values: Record<string, unknown> = {};
      header.forEach((h, i) => (values[h] = record[i]));
      yield { row, values };
    }
  }
  for await (const chunk of createReadStream(path, { encoding: "utf8" })) yield* records(parser.push(chunk as string));
  yield* records(parser.end());
}

/** The source's rows in order. Files are read as they are; PostgreSQL through a cursor in a read-only transaction. */
export function readSource(source: ImportConfig["source"]): AsyncGenerator<RawRow> {
  if (source.kind === "postgres") return readPostgres(source.url, source.query);
  switch (source.format) {
    case "json":
      return readJson(source.path);
    case "ndjson":
      return readNdjson(source.path);
    case "csv":
      return readCsv(source.path);
  }
}
