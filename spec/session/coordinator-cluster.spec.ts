/**
 * The Redis coordinator on a real Redis Cluster (3 masters, 3 replicas, started here): the contract every
 * coordinator passes, one slot per legacy session with sessions spread over every master, and dualSession over
 * HTTP (the real SDK, the dev core) while the cluster fails over: requests may get 503 with Retry-After, and
 * after retrying as told every legacy session has exactly one SuperTokens session.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient, createCluster } from "redis";
import { createRedisMigrationCoordinator, hashSid } from "../../lib/session/coordinator.js";
import { coordinatorContract } from "../../lib/session/coordinators/contract.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { startRedisCluster, type OwnRedisCluster } from "../helpers/redis-cluster.js";
import { createCoreApp } from "../helpers/sdk.js";
import { RedisStore } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { fullApp, serve, sessionsOf, waitFor } from "../helpers/dual-fixtures.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let cluster: OwnRedisCluster;
const newClient = () => createCluster({ rootNodes: cluster.rootNodes });
/** Two cluster clients, as two app processes have. */
const clients: ReturnType<typeof newClient>[] = [];
const prefix = `stm-test:cluster:${uniqueId()}:`;

before(async () => {
  cluster = await startRedisCluster();
  for (let i = 0; i < 2; i++) {
    const client = newClient();
    client.on("error", () => {});
    await client.connect();
    clients.push(client);
  }
});

after(async () => {
  for (const client of clients) client.destroy();
  await cluster?.stop();
});

// The first coordinator of a namespace gets one client, the peer the other: two processes on one cluster.
const seen = new Set<string>();
coordinatorContract(
  { describe, it },
  {
    name: "Redis Cluster",
    create(options, namespace) {
      const client = seen.has(namespace) ? clients[1] : clients[0];
      seen.add(namespace);
      return createRedisMigrationCoordinator(client, { prefix: `${prefix}${namespace}:`, ...options });
    },
  },
);

describe("the Redis coordinator on a Redis Cluster", () => {
  it("keeps the keys of one legacy session in one slot, and spreads sessions over every master", async () => {
    const keyPrefix = `${prefix}slots:`;
    const coordinator = createRedisMigrationCoordinator(clients[0], { prefix: keyPrefix });
    const sids = Array.from({ length: 30 }, () => `sid-${uniqueId()}`);
    for (const sid of sids) {
      const won = await coordinator.claim(sid);
      assert.ok(won.status === "WON" && (await won.claim.publish("r")));
    }
    const { masters } = await cluster.topology();
    const holders = new Map<number, number>();
    for (const port of masters) {
      const node = createClient({ url: `redis://127.0.0.1:${port}` });
      await node.connect();
      try {
        for (const sid of sids) {
          const keys = ["lock", "result", "migrated"].map((k) => `${keyPrefix}${k}:{${hashSid(sid)}}`);
          const slots = await Promise.all(keys.map((k) => node.sendCommand(["CLUSTER", "KEYSLOT", k])));
          assert.equal(new Set(slots).size, 1, `the keys of one session are in slots ${JSON.stringify(slots)}`);
        }
        // SCAN sees the node's own keys only: which sessions this master holds.
        let held = 0;
        for await (const keys of node.scanIterator({ MATCH: `${keyPrefix}result:*`, COUNT: 1000 })) held += keys.length;
        if (held > 0) holders.set(port, held);
      } finally {
        node.destroy();
      }
    }
    assert.equal(
      [...holders.values()].reduce((a, b) => a + b, 0),
      sids.length,
    );
    assert.equal(holders.size, 3, `sessions on ${holders.size} of 3 masters`);
  });
});

describe("dualSession on a Redis Cluster coordinator during a failover", () => {
  let core: DevCore;
  const legacyRedis = createClient({ url: requireEnv("REDIS_URL") });
  before(async () => {
    core = await startDevCore();
    await legacyRedis.connect();
  });
  after(async () => {
    for await (const keys of legacyRedis.scanIterator({ MATCH: `${prefix}*` }))
      if (keys.length) await legacyRedis.del(keys);
    legacyRedis.destroy();
    await core.close();
  });

  /**
   * `users` legacy sessions, each sending a burst of `burst` parallel first requests split over two app
   * instances (one cluster client each); `disrupt` runs once a quarter of the users are answered. A 503 is
   * retried after its Retry-After, as a browser's fetch wrapper would. Returns every status seen.
   */
  async function migrateThrough(disrupt: () => Promise<void>, users = 40, burst = 6) {
    initSuperTokens(await createCoreApp(core.url));
    const store = new RedisStore({ client: legacyRedis, prefix: `${prefix}sess:${uniqueId()}:` });
    const lockPrefix = `${prefix}coord:${uniqueId()}:`;
    const apps = await Promise.all(
      clients.map((client) =>
        serve(
          fullApp({
            store,
            secret: SECRET,
            retryAfterSeconds: 1,
            coordinator: createRedisMigrationCoordinator(client, { prefix: lockPrefix, timeoutMs: 500 }),
          }).app,
        ),
      ),
    );
    const ids = Array.from({ length: users }, (_, i) => `cluster-${uniqueId()}-${i}`);
    const cookies = await Promise.all(
      ids.map(async (id) => `connect.sid=${(await legacyLogin(store, id)).get("connect.sid")}`),
    );
    const statuses: number[] = [];
    let answered = 0;
    let disrupted: Promise<void> | undefined;
    const firstRequest = async (url: string, cookie: string, userId: string) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await request(url).get("/api/me").set("Cookie", cookie);
        statuses.push(res.status);
        if (res.status === 200) {
          assert.equal(res.body.userId, userId);
          return;
        }
        assert.equal(res.status, 503, `answered ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.headers["retry-after"], "1");
        assert.ok(Date.now() < deadline, "still 503 after 60 s");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    try {
      // Eight users at a time, each with a burst of parallel first requests.
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < ids.length) {
            const i = next++;
            await Promise.all(
              Array.from({ length: burst }, (_, j) => firstRequest(apps[j % 2].url, cookies[i], ids[i])),
            );
            if (++answered === Math.ceil(users / 4)) disrupted = disrupt();
          }
        }),
      );
      await disrupted;
      // A winner whose publish died with the master settles it once the cluster answers again, revoking a
      // session whose tokens reached nobody: count once that is done (the retries could not wait for it).
      for (const id of ids) {
        await waitFor(async () => (await sessionsOf(id)).length <= 1, 30_000, `${id} back to one session`).catch(
          () => undefined,
        );
        const handles = await sessionsOf(id);
        assert.equal(handles.length, 1, `${id} has ${handles.length} sessions`);
      }
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
    return statuses;
  }

  it("a planned failover (CLUSTER FAILOVER on a replica): only 200 or 503, one session each", async (t) => {
    const { masters } = await cluster.topology();
    const statuses = await migrateThrough(async () => {
      await cluster.failover(masters[0]);
    });
    assert.deepEqual(
      [...new Set(statuses)].filter((s) => s !== 200 && s !== 503),
      [],
    );
    assert.ok((await cluster.topology()).masters.length === 3);
    t.diagnostic(`${statuses.length} responses, ${statuses.filter((s) => s === 503).length} of them 503`);
  });

  it("a master killed with its replica present: 503s until a replica takes over, one session each", async (t) => {
    const { masters } = await cluster.topology();
    const statuses = await migrateThrough(async () => {
      await cluster.kill(masters[1]);
      await cluster.settled(60_000, async () => (await cluster.topology()).masters.length === 3);
    }, 60);
    assert.deepEqual(
      [...new Set(statuses)].filter((s) => s !== 200 && s !== 503),
      [],
    );
    assert.ok(statuses.includes(503), "no request met the dead master");
    t.diagnostic(`${statuses.length} responses, ${statuses.filter((s) => s === 503).length} of them 503`);
  });
});
