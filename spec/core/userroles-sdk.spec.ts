/**
 * The real supertokens-node UserRoles recipe against the dev core, in memory and on PostgreSQL: every public function
 * of the recipe, tenants, user id mapping and deletion, and the roles and permissions claims in a session.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Multitenancy from "supertokens-node/recipe/multitenancy";
import Session from "supertokens-node/recipe/session";
import UserRoles from "supertokens-node/recipe/userroles";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const schema = `stm_roles_${uniqueId()}`;
let pool: pg.Pool;
const cores: Record<"memory" | "postgres", DevCore> = {} as never;

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
  cores.memory = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  cores.postgres = await startDevCore({
    config: { bcrypt_log_rounds: 4 },
    storage: await PostgresStorage.create(pool, { schema }),
  });
});
after(async () => {
  await cores.memory.close();
  await cores.postgres.close();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

/** A fresh app on the core with the SDK pointed at it. */
async function setup(core: DevCore) {
  const uri = await createCoreApp(core.url);
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      UserRoles.init(),
      Multitenancy.init(),
      Session.init({ getTokenTransferMethod: () => "header" }),
    ],
  });
  return { uri, appId: uri.split("/appid-")[1] };
}

const sorted = (xs: string[]) => [...xs].sort();

for (const kind of ["memory", "postgres"] as const) {
  describe(`UserRoles on the dev core (${kind} storage)`, () => {
    it("creates roles, adds and removes permissions, and finds roles by permission", async () => {
      await setup(cores[kind]);
      assert.deepEqual(await UserRoles.createNewRoleOrAddPermissions("admin", ["read", "write"]), {
        status: "OK",
        createdNewRole: true,
      });
      assert.deepEqual(await UserRoles.createNewRoleOrAddPermissions("admin", ["write", "delete"]), {
        status: "OK",
        createdNewRole: false,
      });
      await UserRoles.createNewRoleOrAddPermissions("viewer", ["read"]);
      await UserRoles.createNewRoleOrAddPermissions("empty", []);

      const perms = await UserRoles.getPermissionsForRole("admin");
      assert.equal(perms.status, "OK");
      assert.deepEqual(sorted(perms.status === "OK" ? perms.permissions : []), ["delete", "read", "write"]);
      assert.deepEqual(await UserRoles.getPermissionsForRole("empty"), { status: "OK", permissions: [] });
      assert.deepEqual(await UserRoles.getPermissionsForRole("nobody"), { status: "UNKNOWN_ROLE_ERROR" });

      const readers = await UserRoles.getRolesThatHavePermission("read");
      assert.deepEqual(sorted(readers.roles), ["admin", "viewer"]);
      assert.deepEqual(await UserRoles.getRolesThatHavePermission("fly"), { status: "OK", roles: [] });

      assert.deepEqual(await UserRoles.removePermissionsFromRole("admin", ["write", "never-had"]), { status: "OK" });
      const after = await UserRoles.getPermissionsForRole("admin");
      assert.deepEqual(sorted(after.status === "OK" ? after.permissions : []), ["delete", "read"]);
      assert.deepEqual(await UserRoles.removePermissionsFromRole("nobody", ["read"]), {
        status: "UNKNOWN_ROLE_ERROR",
      });
      assert.deepEqual(sorted((await UserRoles.getAllRoles()).roles), ["admin", "empty", "viewer"]);
    });

    it("gives users roles per tenant, reports unknown roles, and removes holds", async () => {
      await setup(cores[kind]);
      await UserRoles.createNewRoleOrAddPermissions("admin", []);
      assert.deepEqual(await UserRoles.addRoleToUser("public", "user-1", "admin"), {
        status: "OK",
        didUserAlreadyHaveRole: false,
      });
      assert.deepEqual(await UserRoles.addRoleToUser("public", "user-1", "admin"), {
        status: "OK",
        didUserAlreadyHaveRole: true,
      });
      assert.deepEqual(await UserRoles.addRoleToUser("public", "user-1", "ghost"), { status: "UNKNOWN_ROLE_ERROR" });
      await UserRoles.addRoleToUser("public", "user-2", "admin");
      assert.deepEqual(await UserRoles.getRolesForUser("public", "user-1"), { status: "OK", roles: ["admin"] });
      assert.deepEqual(await UserRoles.getRolesForUser("public", "nobody"), { status: "OK", roles: [] });
      const holders = await UserRoles.getUsersThatHaveRole("public", "admin");
      assert.deepEqual(sorted(holders.status === "OK" ? holders.users : []), ["user-1", "user-2"]);
      assert.deepEqual(await UserRoles.getUsersThatHaveRole("public", "ghost"), { status: "UNKNOWN_ROLE_ERROR" });

      // Holds belong to a tenant; the role itself to the app.
      assert.equal((await Multitenancy.createOrUpdateTenant("t1", { firstFactors: ["emailpassword"] })).status, "OK");
      assert.deepEqual(await UserRoles.getRolesForUser("t1", "user-1"), { status: "OK", roles: [] });
      assert.deepEqual(await UserRoles.addRoleToUser("t1", "user-1", "admin"), {
        status: "OK",
        didUserAlreadyHaveRole: false,
      });
      assert.deepEqual(await UserRoles.getUsersThatHaveRole("t1", "admin"), { status: "OK", users: ["user-1"] });

      assert.deepEqual(await UserRoles.removeUserRole("public", "user-1", "admin"), {
        status: "OK",
        didUserHaveRole: true,
      });
      assert.deepEqual(await UserRoles.removeUserRole("public", "user-1", "admin"), {
        status: "OK",
        didUserHaveRole: false,
      });
      assert.deepEqual(await UserRoles.removeUserRole("public", "user-1", "ghost"), { status: "UNKNOWN_ROLE_ERROR" });
      assert.deepEqual(await UserRoles.getRolesForUser("t1", "user-1"), { status: "OK", roles: ["admin"] });

      // Deleting a role takes every hold on it, in every tenant.
      assert.deepEqual(await UserRoles.deleteRole("admin"), { status: "OK", didRoleExist: true });
      assert.deepEqual(await UserRoles.deleteRole("admin"), { status: "OK", didRoleExist: false });
      assert.deepEqual(await UserRoles.getRolesForUser("t1", "user-1"), { status: "OK", roles: [] });
      assert.deepEqual(await UserRoles.getRolesForUser("public", "user-2"), { status: "OK", roles: [] });
      assert.deepEqual(await UserRoles.getAllRoles(), { status: "OK", roles: [] });
      // A role created again starts with nobody holding it.
      await UserRoles.createNewRoleOrAddPermissions("admin", []);
      assert.deepEqual(await UserRoles.getUsersThatHaveRole("t1", "admin"), { status: "OK", users: [] });
    });

    it("counts roles as use of an id for user id mapping, and deletes them with the user", async () => {
      await setup(cores[kind]);
      await UserRoles.createNewRoleOrAddPermissions("admin", []);
      const up = await EmailPassword.signUp("public", `r-${uniqueId()}@example.com`, "password1");
      assert.equal(up.status, "OK");
      if (up.status !== "OK") return;
      await UserRoles.addRoleToUser("public", up.user.id, "admin");
      await assert.rejects(
        supertokens.createUserIdMapping({ superTokensUserId: up.user.id, externalUserId: "legacy-7" }),
        /UserId is already in use in UserRoles recipe/,
      );
      await UserRoles.removeUserRole("public", up.user.id, "admin");
      assert.deepEqual(
        await supertokens.createUserIdMapping({ superTokensUserId: up.user.id, externalUserId: "legacy-7" }),
        { status: "OK" },
      );
      // Once mapped, roles live under the external id; deleting the user (by either id) deletes them.
      await UserRoles.addRoleToUser("public", "legacy-7", "admin");
      assert.deepEqual(await UserRoles.getRolesForUser("public", "legacy-7"), { status: "OK", roles: ["admin"] });
      await supertokens.deleteUser(up.user.id);
      assert.deepEqual(await UserRoles.getRolesForUser("public", "legacy-7"), { status: "OK", roles: [] });
      assert.deepEqual(await UserRoles.getUsersThatHaveRole("public", "admin"), { status: "OK", users: [] });
    });

    it("puts the roles and permissions claims in a new session, and verifySession checks them", async () => {
      await setup(cores[kind]);
      await UserRoles.createNewRoleOrAddPermissions("admin", ["notes:delete"]);
      await UserRoles.addRoleToUser("public", "boss", "admin");
      const app = express();
      app.use(middleware());
      app.post("/login/:id", async (req, res) => {
        const session = await Session.createNewSession(
          req,
          res,
          "public",
          supertokens.convertToRecipeUserId(req.params.id),
        );
        res.json(session.getAccessTokenPayload());
      });
      app.get(
        "/admin",
        verifySession({
          overrideGlobalClaimValidators: (globals) => [
            ...globals,
            UserRoles.UserRoleClaim.validators.includes("admin"),
            UserRoles.PermissionClaim.validators.includes("notes:delete"),
          ],
        }),
        (_req, res) => {
          res.json({ ok: true });
        },
      );
      app.use(errorHandler());

      const boss = await request(app).post("/login/boss").expect(200);
      assert.deepEqual(boss.body["st-role"].v, ["admin"]);
      assert.deepEqual(boss.body["st-perm"].v, ["notes:delete"]);
      const bossToken = String(boss.headers["st-access-token"]);
      await request(app).get("/admin").set("authorization", `Bearer ${bossToken}`).expect(200, { ok: true });

      const clerk = await request(app).post("/login/clerk").expect(200);
      assert.deepEqual(clerk.body["st-role"].v, []);
      const denied = await request(app)
        .get("/admin")
        .set("authorization", `Bearer ${String(clerk.headers["st-access-token"])}`)
        .expect(403);
      assert.equal(denied.body.message, "invalid claim");
      assert.equal(denied.body.claimValidationErrors[0].id, "st-role");
    });

    it("answers bad input as the core does: 400 with its wording, 403 for app APIs on a tenant", async () => {
      const { uri } = await setup(cores[kind]);
      const put = (path: string, body: unknown) =>
        fetch(`${uri}${path}`, {
          method: "PUT",
          headers: { "content-type": "application/json", rid: "userroles" },
          body: JSON.stringify(body),
        });
      let res = await put("/recipe/role", { role: "  " });
      assert.equal(res.status, 400);
      assert.equal(await res.text(), "Field name 'role' cannot be an empty String\n");
      res = await put("/recipe/role", { role: "r", permissions: ["ok", " "] });
      assert.equal(res.status, 400);
      assert.equal(await res.text(), "Field name 'permissions' cannot contain an empty string\n");
      res = await put("/recipe/role", { permissions: [] });
      assert.equal(res.status, 400);
      assert.equal(await res.text(), "Field name 'role' is invalid in JSON input\n");
      // Roles are trimmed: " r " is "r".
      res = await put("/recipe/role", { role: " r " });
      assert.deepEqual(await res.json(), { status: "OK", createdNewRole: true });
      assert.deepEqual((await UserRoles.getAllRoles()).roles, ["r"]);

      await Multitenancy.createOrUpdateTenant("t2", { firstFactors: ["emailpassword"] });
      res = await put("/t2/recipe/role", { role: "x" });
      assert.equal(res.status, 403);
      res = await fetch(`${uri}/recipe/user/roles`, { headers: { rid: "userroles" } });
      assert.equal(res.status, 400);
      assert.equal(await res.text(), "Field name 'userId' is missing in GET request\n");
    });
  });
}

describe("UserRoles in PostgreSQL: the plugin's tables", () => {
  it("keeps roles, permissions and holds in roles, role_permissions and user_roles", async () => {
    const { appId } = await setup(cores.postgres);
    await UserRoles.createNewRoleOrAddPermissions("admin", ["a", "b"]);
    await UserRoles.addRoleToUser("public", "u1", "admin");
    const q = async (sql: string) => (await pool.query(sql.replaceAll("S.", `"${schema}".`), [appId])).rows;
    assert.deepEqual(await q("SELECT role FROM S.roles WHERE app_id = $1"), [{ role: "admin" }]);
    assert.deepEqual(await q("SELECT permission FROM S.role_permissions WHERE app_id = $1 ORDER BY permission"), [
      { permission: "a" },
      { permission: "b" },
    ]);
    assert.deepEqual(await q("SELECT tenant_id, user_id, role FROM S.user_roles WHERE app_id = $1"), [
      { tenant_id: "public", user_id: "u1", role: "admin" },
    ]);
    const indexes = await q(
      `SELECT indexname FROM pg_indexes WHERE schemaname = '${schema}' AND indexname LIKE '%role%' AND $1 <> ''
       ORDER BY indexname`,
    );
    assert.deepEqual(
      indexes.map((r) => r.indexname),
      [
        "role_permissions_permission_index",
        "role_permissions_pkey",
        "role_permissions_role_index",
        "roles_app_id_index",
        "roles_pkey",
        "user_roles_app_id_role_index",
        "user_roles_app_id_user_id_index",
        "user_roles_pkey",
        "user_roles_role_index",
        "user_roles_tenant_id_index",
      ],
    );
  });
});
