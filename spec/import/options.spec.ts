/** resolveImportOptions: one validation pass before any work, with messages that name the fix. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolveImportOptions, type ImportOptions } from "../../lib/import/options.js";

const base: ImportOptions = { file: "users.ndjson", core: "http://localhost:3567" };

describe("resolveImportOptions", () => {
  it("resolves defaults into a frozen config", () => {
    const config = resolveImportOptions(base);
    assert.ok(Object.isFrozen(config));
    assert.deepEqual(config.source, { kind: "file", path: "users.ndjson", format: "ndjson" });
    assert.equal(config.mode, "auto");
    assert.equal(config.batchSize, 1000);
    assert.equal(config.concurrency, 8);
    assert.deepEqual(config.columns.passwordHash, ["password_hash", "passwordHash"]);
    assert.deepEqual(config.mapped, []);
  });

  it("reads a field=column mapping and adds the app path", () => {
    const config = resolveImportOptions({
      ...base,
      map: "id=user_id, email=mail,passwordHash=pw",
      appId: "app-1",
      core: "http://h:1/",
    });
    assert.deepEqual(config.columns.id, ["user_id"]);
    assert.deepEqual(config.columns.email, ["mail"]);
    assert.deepEqual([...config.mapped].sort(), ["email", "id", "passwordHash"]);
    assert.equal(config.core, "http://h:1/appid-app-1");
  });

  it("strips a trailing semicolon from the query (it goes into DECLARE CURSOR)", () => {
    const config = resolveImportOptions({
      from: "postgres://u@h/db",
      query: "select * from users; ",
      core: "http://h:1",
    });
    assert.deepEqual(config.source, { kind: "postgres", url: "postgres://u@h/db", query: "select * from users" });
  });

  for (const [name, options, pattern, code] of [
    [
      "an unknown mapping field, naming the closest",
      { ...base, map: "emial=mail" },
      /unknown option `emial`\. Did you mean `email`\?/,
      "ERR_MIGRATE_UNKNOWN_OPTION",
    ],
    [
      "an unknown option, naming the closest",
      { ...base, dryrun: true },
      /Did you mean `dryRun`\?/,
      "ERR_MIGRATE_UNKNOWN_OPTION",
    ],
    ["no source", { core: "http://h:1" }, /a source is required/, "ERR_MIGRATE_MISSING_OPTION"],
    [
      "two sources",
      { ...base, from: "postgres://h/db", query: "select 1" },
      /give one source/,
      "ERR_MIGRATE_CONFLICTING_OPTIONS",
    ],
    [
      "--from without --query",
      { from: "postgres://h/db", core: "http://h:1" },
      /needs `query`/,
      "ERR_MIGRATE_MISSING_OPTION",
    ],
    [
      "a file of unknown format",
      { ...base, file: "users.txt" },
      /--format json\|ndjson\|csv/,
      "ERR_MIGRATE_MISSING_OPTION",
    ],
    [
      "a batch over the core's limit",
      { ...base, batchSize: 10_001 },
      /from 1 to 10000.*at most 10,000/,
      "ERR_MIGRATE_INVALID_OPTION",
    ],
    ["a missing core", { file: "u.csv" }, /`core` is required/, "ERR_MIGRATE_MISSING_OPTION"],
    [
      "an app id twice",
      { ...base, core: "http://h:1/appid-a", appId: "b" },
      /Pass only one/,
      "ERR_MIGRATE_CONFLICTING_OPTIONS",
    ],
    [
      "an unknown mode",
      { ...base, mode: "fast" },
      /`mode` must be one of auto, bulk, per-user; received "fast"/,
      "ERR_MIGRATE_INVALID_OPTION",
    ],
    [
      "a non-boolean dryRun",
      { ...base, dryRun: "yes" },
      /`dryRun` must be true or false; received "yes"/,
      "ERR_MIGRATE_INVALID_OPTION",
    ],
  ] as const) {
    it(`fails with ${code} on ${name}`, () => {
      assert.throws(
        () => resolveImportOptions(options as ImportOptions),
        (err: NodeJS.ErrnoException) =>
          err.code === code &&
          pattern.test(err.message) &&
          /See supertokens-migrate\/docs\/errors\.md#err_migrate_[a-z_]+$/.test(err.message),
      );
    });
  }
});
