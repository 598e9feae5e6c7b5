/**
 * `import` with legacy roles: the column map takes roles (one role, a comma-separated list, a PostgreSQL text[] or a
 * JSON array); bulk mode sends them as the bulk API's userRoles (creating the roles first, as the core requires),
 * per-user mode gives them through the UserRoles API. The imported users' sessions carry the roles claim.
 * Real parts: the dev core over HTTP, PostgreSQL as the legacy database, the SDK to read the result.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import UserRoles from "supertokens-node/recipe/userroles";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { runImport } from "../../lib/import/run.js";
import type { ImportOptions } from "../../lib/import/options.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import { csvField } from "../../lib/import/sources/csv.js";
import { bcryptRows, type LegacyRow } from "../helpers/import-fixtures.js";

type RoleRow = LegacyRow & { roles: string | string[] };
const record = (r: RoleRow) => ({ id: r.id, email: r.email, password_hash: r.hash, roles: r.roles });
const toJson = (rows: RoleRow[]) => JSON.stringify(rows.map(record));
const toNdjson = (rows: RoleRow[]) => rows.map((r) => JSON.stringify(record(r))).join("\n") + "\n";
const toCsv = (rows: RoleRow[]) =>
  [
    "id,email,password_hash,roles",
    ...rows.map((r) => [r.id, r.email, r.hash, String(r.roles)].map(csvField).join(",")),
  ].join("\r\n") + "\r\n";

let core: DevCore;
let dir: string;
let pool: pg.Pool;
const schema = `import_roles_${uniqueId()}`;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  dir = await mkdtemp(path.join(os.tmpdir(), "st-import-roles-"));
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 2 });
});
after(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, progress: "none" as const };
const run = (options: ImportOptions) => runImport(options, quiet);

function initSdk(uri: string) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [EmailPassword.init(), UserRoles.init(), Session.init({ getTokenTransferMethod: () => "header" })],
  });
}

/** Each user's roles in the core, and in the claim of a session created for them. */
async function rolesOf(uri: string, ids: string[]) {
  initSdk(uri);
  const out: Record<string, { core: string[]; claim: unknown }> = {};
  for (const id of ids) {
    const { roles } = await UserRoles.getRolesForUser("public", id);
    const session = await Session.createNewSessionWithoutRequestResponse(
      "public",
      supertokens.convertToRecipeUserId(id),
    );
    out[id] = { core: roles.sort(), claim: (session.getAccessTokenPayload()["st-role"] as { v: string[] }).v.sort() };
  }
  return out;
}

describe("import with roles", () => {
  it("from PostgreSQL in bulk mode: a text role column and a text[] column mapped by --map roles=", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(3, "pgroles");
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(
      `CREATE TABLE ${schema}.users (id text PRIMARY KEY, email text, password_hash text, role text, groups text[])`,
    );
    const roleText = ["admin, editor", null, "viewer"];
    const groups = [null, ["billing", "support", "billing"], ["viewer", "admin"]];
    for (const [i, r] of rows.entries()) {
      await pool.query(`INSERT INTO ${schema}.users VALUES ($1, $2, $3, $4, $5)`, [
        r.id,
        r.email,
        r.hash,
        roleText[i],
        groups[i],
      ]);
    }

    // The default columns: `roles`, then `role`.
    const byRole = await run({
      from: requireEnv("DATABASE_URL"),
      query: `select id, email, password_hash, role from ${schema}.users order by id`,
      core: uri,
      mode: "bulk",
    });
    assert.equal(byRole.counts.imported, 3);
    assert.deepEqual(await rolesOf(uri, [rows[0].id, rows[1].id, rows[2].id]), {
      [rows[0].id]: { core: ["admin", "editor"], claim: ["admin", "editor"] },
      [rows[1].id]: { core: [], claim: [] },
      [rows[2].id]: { core: ["viewer"], claim: ["viewer"] },
    });
    assert.deepEqual((await UserRoles.getAllRoles()).roles.sort(), ["admin", "editor", "viewer"]);

    const uri2 = await createCoreApp(core.url);
    const byGroups = await run({
      from: requireEnv("DATABASE_URL"),
      query: `select * from ${schema}.users order by id`,
      map: "roles=groups",
      core: uri2,
      mode: "bulk",
    });
    assert.equal(byGroups.counts.imported, 3);
    assert.deepEqual(await rolesOf(uri2, [rows[0].id, rows[1].id, rows[2].id]), {
      [rows[0].id]: { core: [], claim: [] },
      [rows[1].id]: { core: ["billing", "support"], claim: ["billing", "support"] },
      [rows[2].id]: { core: ["admin", "viewer"], claim: ["admin", "viewer"] },
    });
  });

  const files = [
    ["ndjson", "per-user", toNdjson],
    ["json", "bulk", toJson],
    ["csv", "per-user", toCsv],
  ] as const;
  for (const [format, mode, write] of files) {
    it(`from ${format} in ${mode} mode: roles reach the core, and a re-run changes nothing`, async () => {
      const uri = await createCoreApp(core.url);
      const rows = await bcryptRows(3, `${format}-${mode}-roles`);
      // A JSON file carries arrays; a CSV cell a comma-separated list.
      const roles = format === "csv" ? ["admin,ops", "", "ops"] : [["admin", "ops"], [], ["ops", " "]];
      const withRoles: RoleRow[] = rows.map((r, i) => ({ ...r, roles: roles[i] }));
      const file = path.join(dir, `roles-${mode}.${format}`);
      await writeFile(file, write(withRoles));
      const report = await run({ file, core: uri, mode });
      assert.equal(report.counts.imported, 3);
      const expected = {
        [rows[0].id]: { core: ["admin", "ops"], claim: ["admin", "ops"] },
        [rows[1].id]: { core: [], claim: [] },
        [rows[2].id]: { core: ["ops"], claim: ["ops"] },
      };
      assert.deepEqual(
        await rolesOf(
          uri,
          rows.map((r) => r.id),
        ),
        expected,
      );
      const again = await run({ file, core: uri, mode });
      assert.equal(again.counts.imported, 0);
      assert.equal(again.counts.skipped, 3);
      assert.deepEqual(
        await rolesOf(
          uri,
          rows.map((r) => r.id),
        ),
        expected,
      );
    });
  }
});
