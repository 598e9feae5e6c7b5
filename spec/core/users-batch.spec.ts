/**
 * Listing users costs the storage a fixed number of queries per page, whatever the page size: the mappings and the
 * verified emails of a page are read in one lookup each (AppStorage.getMappings, verifiedEmails), and each listed
 * user reads exactly as GET /user/id reads it one by one.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { MemoryStorage, PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import type { CoreStorage } from "../../lib/core/storage/types.js";
import { createCoreApp } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

interface Backend {
  name: string;
  open(): Promise<{ storage: CoreStorage; queries(): number; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "MemoryStorage",
    open: async () => ({ storage: new MemoryStorage(), queries: () => 0, close: async () => {} }),
  },
  {
    name: "PostgresStorage",
    async open() {
      const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 5 });
      let count = 0;
      // Every statement the storage sends goes through this one method.
      const counted = {
        query: (sql: string, params?: unknown[]) => {
          count++;
          return pool.query(sql, params);
        },
      };
      const schema = `stm_users_batch_${uniqueId()}`;
      const storage = await PostgresStorage.create(counted, { schema });
      return {
        storage,
        queries: () => count,
        async close() {
          await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
          await pool.end();
        },
      };
    },
  },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the core's JSON, compared whole
type Json = any;

for (const backend of backends) {
  describe(`listing users on ${backend.name}`, () => {
    let core: DevCore;
    let opened: Awaited<ReturnType<Backend["open"]>>;
    before(async () => {
      opened = await backend.open();
      core = await startDevCore({ storage: opened.storage, config: { bcrypt_log_rounds: 4 } });
    });
    after(async () => {
      await core.close();
      await opened.close();
    });

    /** An app with `n` users: every third mapped to an external id, every second verified (under its reported id). */
    async function appWithUsers(n: number) {
      const base = await createCoreApp(core.url);
      const appId = base.split("/appid-")[1];
      const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
        const res = await fetch(base + path, {
          method,
          headers: { "content-type": "application/json", "cdi-version": "5.4" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        assert.equal(res.status, 200, `${method} ${path}`);
        return res.json();
      };
      const storage = opened.storage.app(appId);
      const users: { id: string; email: string; reported: string }[] = [];
      for (let i = 0; i < n; i++) {
        const email = `u${i}@batch.example`;
        const r = await call("POST", "/public/recipe/signup", { email, password: "password1" });
        assert.equal(r.status, "OK");
        let reported = r.user.id as string;
        if (i % 3 === 0) {
          reported = `legacy-${i}`;
          const m = await call("POST", "/recipe/userid/map", {
            superTokensUserId: r.user.id,
            externalUserId: reported,
            ...(i % 2 === 0 ? { externalUserIdInfo: `row ${i}` } : {}),
          });
          assert.equal(m.status, "OK");
        }
        if (i % 2 === 0) await storage.setEmailVerified(reported, email, true);
        users.push({ id: r.user.id as string, email, reported });
      }
      return { call, storage, users };
    }

    it("answers GET /users exactly as GET /user/id answers for each user", async () => {
      const { call, users } = await appWithUsers(7);
      const listed: Json[] = [];
      let token: string | undefined;
      do {
        const page = await call(
          "GET",
          `/public/users?limit=3${token ? `&paginationToken=${encodeURIComponent(token)}` : ""}`,
        );
        listed.push(...page.users);
        token = page.nextPaginationToken;
      } while (token !== undefined);
      assert.equal(listed.length, users.length);
      for (const u of listed) {
        const one = await call("GET", `/user/id?userId=${encodeURIComponent(u.id)}`);
        assert.deepEqual(u, one.user);
      }
      const byEmail = new Map(listed.map((u) => [u.emails[0], u]));
      for (const [i, u] of users.entries()) {
        const got = byEmail.get(u.email);
        assert.equal(got.id, u.reported);
        assert.equal(got.loginMethods[0].recipeUserId, u.reported);
        assert.equal(got.loginMethods[0].verified, i % 2 === 0, u.email);
      }
    });

    it("reads mappings and verified emails of many ids in one call, in order, unknown ids left out", async () => {
      const { storage, users } = await appWithUsers(4);
      const mappings = await storage.getMappings([...users.map((u) => u.id), "no-such-id"]);
      assert.deepEqual(
        [...mappings.keys()].sort(),
        users
          .filter((u) => u.reported !== u.id)
          .map((u) => u.id)
          .sort(),
      );
      assert.deepEqual(mappings.get(users[0].id), {
        superTokensUserId: users[0].id,
        externalUserId: "legacy-0",
        externalUserIdInfo: "row 0",
      });
      assert.deepEqual(await storage.getMappings([]), new Map());
      // Verification lives under the reported id: asked under the SuperTokens id of a mapped user, it is false.
      const asked = [
        ...users.map((u) => ({ userId: u.reported, email: u.email })),
        { userId: users[0].id, email: users[0].email },
        { userId: users[2].reported, email: "other@batch.example" },
        { userId: users[2].reported, email: users[2].email },
      ];
      const one = await Promise.all(asked.map((p) => storage.isEmailVerified(p.userId, p.email)));
      assert.deepEqual(await storage.verifiedEmails(asked), one);
      assert.deepEqual(one, [true, false, true, false, false, false, true]);
      assert.deepEqual(await storage.verifiedEmails([]), []);
    });

    if (backend.name === "PostgresStorage")
      it("costs the same number of queries for a page of 2 users as for a page of 40", async () => {
        const { call } = await appWithUsers(42);
        const queriesFor = async (limit: number) => {
          const before = opened.queries();
          const page = await call("GET", `/public/users?limit=${limit}`);
          assert.equal(page.users.length, limit);
          return opened.queries() - before;
        };
        await queriesFor(1); // the first request of an app reads and caches what it needs once
        const small = await queriesFor(2);
        const large = await queriesFor(40);
        assert.equal(large, small);
        // The listing, the mappings, the verified emails (and whatever the route reads about the app, per request).
        assert.ok(large <= 6, `${large} queries for one page`);
      });
  });
}
