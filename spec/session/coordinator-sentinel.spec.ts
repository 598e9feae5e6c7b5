/**
 * The Redis coordinator through a node-redis Sentinel client, on a real master + replica + Sentinel started
 * here: the contract every coordinator passes, and a SENTINEL FAILOVER under load that answers only outcomes or
 * 503 codes, keeps what was replicated before it, and leaves the coordinator working on the new master.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSentinel } from "redis";
import { createRedisMigrationCoordinator } from "../../lib/session/coordinator.js";
import { coordinatorContract } from "../../lib/session/coordinators/contract.js";
import { startRedisSentinel, type OwnRedisSentinel } from "../helpers/redis-cluster.js";
import { uniqueId } from "../helpers/services.js";

let setup: OwnRedisSentinel;
const newClient = () => createSentinel({ name: setup.name, sentinelRootNodes: setup.sentinelRootNodes });
/** Two Sentinel clients, as two app processes have. */
const clients: ReturnType<typeof newClient>[] = [];
const prefix = `stm-test:sentinel:${uniqueId()}:`;

before(async () => {
  setup = await startRedisSentinel();
  for (let i = 0; i < 2; i++) {
    const client = newClient();
    client.on("error", () => {});
    await client.connect();
    clients.push(client);
  }
});

after(async () => {
  for (const client of clients) await client.destroy();
  await setup?.stop();
});

const seen = new Set<string>();
coordinatorContract(
  { describe, it },
  {
    name: "Redis Sentinel",
    create(options, namespace) {
      const client = seen.has(namespace) ? clients[1] : clients[0];
      seen.add(namespace);
      return createRedisMigrationCoordinator(client, { prefix: `${prefix}${namespace}:`, ...options });
    },
  },
);

describe("the Redis coordinator on a Sentinel client during SENTINEL FAILOVER", () => {
  it("answers outcomes or 503 codes in time, keeps replicated results, and works on the new master", async (t) => {
    const coordinator = createRedisMigrationCoordinator(clients[0], { prefix: `${prefix}failover:`, timeoutMs: 500 });
    const before = Array.from({ length: 20 }, () => `sid-${uniqueId()}`);
    for (const sid of before) {
      const won = await coordinator.claim(sid);
      assert.ok(won.status === "WON" && (await won.claim.publish(`r-${sid}`)));
    }
    const from = await setup.master();
    let stop = false;
    const errors = new Map<string, number>();
    let answered = 0;
    let slowest = 0;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const started = Date.now();
        try {
          await coordinator.claim(`load-${i}`);
          answered++;
        } catch (err) {
          const code = String((err as { code?: unknown }).code);
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
        slowest = Math.max(slowest, Date.now() - started);
      }
    })();
    const to = await setup.failover();
    stop = true;
    await load;
    assert.notEqual(to, from);
    assert.deepEqual(
      [...errors.keys()].filter((c) => c !== "ERR_MIGRATE_TIMEOUT" && c !== "ERR_MIGRATE_LOCK_UNAVAILABLE"),
      [],
    );
    assert.ok(slowest < 5000, `a step took ${slowest} ms`);
    // Written and replicated before the failover: still there on the new master.
    for (const sid of before) assert.deepEqual(await coordinator.claim(sid), { status: "DONE", result: `r-${sid}` });
    const fresh = `sid-${uniqueId()}`;
    assert.equal((await coordinator.claim(fresh)).status, "WON");
    assert.equal(
      (await createRedisMigrationCoordinator(clients[1], { prefix: `${prefix}failover:` }).claim(fresh)).status,
      "BUSY",
    );
    t.diagnostic(`${answered} claims answered during the failover, errors: ${JSON.stringify([...errors])}`);
  });
});
