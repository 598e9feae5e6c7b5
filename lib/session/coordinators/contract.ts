/*
 * The behaviour every migration coordinator must have, as test cases any runner can execute: dualSession relies
 * on exactly this, whatever store is behind it. The package runs them on its memory, Redis and PostgreSQL
 * coordinators; an app that writes a coordinator for another store runs them on its own (docs/coordinators.md):
 *
 *     import { describe, it } from "node:test";
 *     import { coordinatorContract } from "supertokens-migrate/coordinator-contract";
 *     coordinatorContract({ describe, it }, { name: "DynamoDB", create: (options, ns) => createMine(ns, options) });
 *
 * The cases sleep to let TTLs run out (that is what they test), with margins wide enough for a loaded CI box.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { CoordinatorOptions, MigrationCoordinator } from "../coordinator.js";

/** `describe` and `it` of node:test, or of mocha, vitest or jest: only `(name, fn)` is used. */
export interface ContractRunner {
  describe: (name: string, fn: () => void) => unknown;
  it: (name: string, fn: () => Promise<void>) => unknown;
}

export interface CoordinatorUnderTest {
  /** Shown in the suite's name: "migration coordinator contract: <name>". */
  name: string;
  /**
   * A coordinator with these options (lockTtlMs, resultTtlMs, waitMs, migratedTtlMs; the cases only ever set
   * these four) on `namespace`: a fresh random string per case, for a key prefix, table or similar. Two calls
   * with the same namespace must give coordinators that share state, as two processes on one store do.
   */
  create(options: CoordinatorOptions, namespace: string): MigrationCoordinator | Promise<MigrationCoordinator>;
  /**
   * False for a coordinator that settles races only inside one process (the memory one): the cases with two
   * instances are then skipped. Default true.
   */
  shared?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fresh = (what: string) => `${what}-${randomBytes(8).toString("hex")}`;

/** Registers the contract's cases with `runner` for `target`, inside one `describe`. */
export function coordinatorContract(runner: ContractRunner, target: CoordinatorUnderTest): void {
  const { describe, it } = runner;
  const make = async (options: CoordinatorOptions = {}, namespace = fresh("ns")) => ({
    coordinator: await target.create(options, namespace),
    namespace,
  });
  const won = <T extends { status: string }>(outcome: T): Extract<T, { status: "WON" }> => {
    assert.equal(outcome.status, "WON", `expected WON, got ${JSON.stringify(outcome)}`);
    return outcome as Extract<T, { status: "WON" }>;
  };

  describe(`migration coordinator contract: ${target.name}`, () => {
    describe("when many requests claim one session at once", () => {
      it("lets exactly one of 20 concurrent claims win; the rest are BUSY", async () => {
        const { coordinator } = await make();
        const sid = fresh("sid");
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => coordinator.claim(sid)));
        assert.equal(outcomes.filter((o) => o.status === "WON").length, 1);
        assert.equal(outcomes.filter((o) => o.status === "BUSY").length, 19);
      });

      it("gives every concurrent request the winner's result, and migrates once", async () => {
        const { coordinator } = await make();
        const sid = fresh("sid");
        let migrations = 0;
        const handle = async (): Promise<string> => {
          const outcome = await coordinator.claim(sid);
          if (outcome.status === "DONE") return outcome.result;
          if (outcome.status === "WON") {
            migrations++;
            await sleep(50);
            const result = JSON.stringify({ accessToken: "at", n: migrations });
            assert.equal(await outcome.claim.publish(result), true);
            return result;
          }
          assert.equal(outcome.status, "BUSY");
          const waited = await coordinator.waitForResult(sid, 5000);
          assert.equal(waited.status, "DONE");
          return waited.status === "DONE" ? waited.result : "";
        };
        const results = await Promise.all(Array.from({ length: 10 }, handle));
        assert.equal(migrations, 1);
        assert.ok(results.every((r) => r === results[0]));
        // A request that arrives after the winner finished gets the same result without a wait.
        assert.deepEqual(await coordinator.claim(sid), { status: "DONE", result: results[0] });
      });

      it("keeps sessions apart: a claim on one sid does not make another BUSY", async () => {
        const { coordinator } = await make();
        won(await coordinator.claim(fresh("sid")));
        won(await coordinator.claim(fresh("sid")));
      });
    });

    describe("when the winner fails or is slow", () => {
      it("reports ABANDONED to waiters when the winner releases without a result, and lets them claim", async () => {
        const { coordinator } = await make();
        const sid = fresh("sid");
        const first = won(await coordinator.claim(sid));
        const waiting = coordinator.waitForResult(sid, 5000);
        await sleep(30);
        assert.equal(await first.claim.release(), true);
        assert.deepEqual(await waiting, { status: "ABANDONED" });
        won(await coordinator.claim(sid));
      });

      it("reports TIMEOUT when the winner still holds the claim at the deadline", async () => {
        const { coordinator } = await make();
        const sid = fresh("sid");
        won(await coordinator.claim(sid));
        const started = Date.now();
        assert.deepEqual(await coordinator.waitForResult(sid, 200), { status: "TIMEOUT" });
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 190 && elapsed < 3000, `waited ${elapsed} ms`);
      });

      it("looks once and does not wait when waitMs is 0", async () => {
        const { coordinator } = await make();
        const sid = fresh("sid");
        assert.deepEqual(await coordinator.waitForResult(sid, 0), { status: "ABANDONED" });
        const first = won(await coordinator.claim(sid));
        assert.deepEqual(await coordinator.waitForResult(sid, 0), { status: "TIMEOUT" });
        assert.equal(await first.claim.publish("r"), true);
        assert.deepEqual(await coordinator.waitForResult(sid, 0), { status: "DONE", result: "r" });
      });

      it("refuses to publish for a winner whose lock expired and was taken over", async () => {
        const { coordinator } = await make({ lockTtlMs: 150 });
        const sid = fresh("sid");
        const slow = won(await coordinator.claim(sid));
        await sleep(300);
        const next = won(await coordinator.claim(sid));
        assert.equal(await slow.claim.publish("stale"), false);
        assert.equal(await next.claim.publish("fresh"), true);
        assert.deepEqual(await coordinator.claim(sid), { status: "DONE", result: "fresh" });
      });

      it("refuses to publish or release after the lock expired with no one else holding it", async () => {
        const { coordinator } = await make({ lockTtlMs: 150 });
        const sid = fresh("sid");
        const slow = won(await coordinator.claim(sid));
        await sleep(300);
        assert.equal(await slow.claim.publish("late"), false);
        const again = won(await coordinator.claim(sid));
        await sleep(300);
        assert.equal(await again.claim.release(), false);
        won(await coordinator.claim(sid));
      });
    });

    describe("after a result is published", () => {
      it("forgets the result after resultTtlMs, and remembers the migration for migratedTtlMs", async () => {
        const { coordinator } = await make({ resultTtlMs: 400, migratedTtlMs: 1200 });
        const sid = fresh("sid");
        assert.equal(await won(await coordinator.claim(sid)).claim.publish("r"), true);
        assert.deepEqual(await coordinator.claim(sid), { status: "DONE", result: "r" });
        await sleep(600);
        // No second migration once the result is gone: the session was migrated.
        assert.deepEqual(await coordinator.claim(sid), { status: "MIGRATED" });
        assert.deepEqual(await coordinator.waitForResult(sid, 0), { status: "ABANDONED" });
        await sleep(900);
        won(await coordinator.claim(sid));
      });

      it("keeps the result for the ttlMs the publisher names rather than resultTtlMs", async () => {
        const { coordinator } = await make({ resultTtlMs: 60_000 });
        const sid = fresh("sid");
        assert.equal(await won(await coordinator.claim(sid)).claim.publish("r", 300), true);
        assert.equal((await coordinator.claim(sid)).status, "DONE");
        await sleep(500);
        assert.deepEqual(await coordinator.claim(sid), { status: "MIGRATED" });
      });

      it("lets a claim publish or release only once", async () => {
        const { coordinator } = await make();
        const sid = fresh("sid");
        const first = won(await coordinator.claim(sid));
        assert.equal(await first.claim.publish("r1"), true);
        assert.equal(await first.claim.publish("r2"), false);
        assert.equal(await first.claim.release(), false);
        assert.deepEqual(await coordinator.claim(sid), { status: "DONE", result: "r1" });
      });

      it("endReuse(sid, 0) ends the reuse at once and keeps 'migrated before'", async () => {
        const { coordinator } = await make();
        if (coordinator.endReuse === undefined) return;
        const sid = fresh("sid");
        assert.equal(await won(await coordinator.claim(sid)).claim.publish("r"), true);
        await coordinator.endReuse(sid, 0);
        assert.deepEqual(await coordinator.claim(sid), { status: "MIGRATED" });
        assert.deepEqual(await coordinator.waitForResult(sid, 0), { status: "ABANDONED" });
      });

      it("endReuse(sid, ms) shortens the result's lifetime and never lengthens it", async () => {
        const { coordinator } = await make();
        if (coordinator.endReuse === undefined) return;
        const sid = fresh("sid");
        assert.equal(await won(await coordinator.claim(sid)).claim.publish("r", 60_000), true);
        await coordinator.endReuse(sid, 300);
        assert.equal((await coordinator.claim(sid)).status, "DONE");
        await coordinator.endReuse(sid, 60_000);
        await sleep(500);
        assert.deepEqual(await coordinator.claim(sid), { status: "MIGRATED" });
        // A session never claimed: nothing to end, nothing created.
        const other = fresh("sid");
        await coordinator.endReuse(other, 300);
        won(await coordinator.claim(other));
      });
    });

    describe("when two instances share the store, as two processes do", () => {
      const shared = target.shared !== false;
      it("lets exactly one of them win, and hands its result to the other", async () => {
        if (!shared) return;
        const { coordinator: a, namespace } = await make();
        const { coordinator: b } = await make({}, namespace);
        const sid = fresh("sid");
        const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claim(sid)));
        assert.equal(outcomes.filter((o) => o.status === "WON").length, 1);
        const winner = outcomes.find((o) => o.status === "WON");
        const waiting = b.waitForResult(sid, 5000);
        assert.equal(winner?.status === "WON" && (await winner.claim.publish("shared")), true);
        assert.deepEqual(await waiting, { status: "DONE", result: "shared" });
        assert.deepEqual(await a.claim(sid), { status: "DONE", result: "shared" });
      });

      it("shows a release in one to waiters in the other, and endReuse in one to claims in the other", async () => {
        if (!shared) return;
        const { coordinator: a, namespace } = await make();
        const { coordinator: b } = await make({}, namespace);
        const sid = fresh("sid");
        const first = won(await a.claim(sid));
        assert.equal((await b.claim(sid)).status, "BUSY");
        const waiting = b.waitForResult(sid, 5000);
        await sleep(30);
        assert.equal(await first.claim.release(), true);
        assert.deepEqual(await waiting, { status: "ABANDONED" });
        const second = won(await b.claim(sid));
        assert.equal(await second.claim.publish("r"), true);
        if (a.endReuse === undefined) return;
        await a.endReuse(sid, 0);
        assert.deepEqual(await b.claim(sid), { status: "MIGRATED" });
      });
    });

    describe("when called wrongly", () => {
      it("rejects an empty sid and a result that is not a string", async () => {
        const { coordinator } = await make();
        await assert.rejects(async () => coordinator.claim(""));
        const first = won(await coordinator.claim(fresh("sid")));
        await assert.rejects(async () => first.claim.publish(42 as unknown as string));
      });
    });
  });
}
