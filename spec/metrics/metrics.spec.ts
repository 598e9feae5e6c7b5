/**
 * Migration events as OpenTelemetry metrics (docs/metrics.md): real migrations over HTTP through the real SDK
 * against the dev core, recorded by the OpenTelemetry SDK's MeterProvider and read back through its in-memory
 * exporter. The counters must say what stats() and the hooks say, with the same reasons.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import { sign } from "cookie-signature";
import { metrics as otel } from "@opentelemetry/api";
import { DataPointType, MeterProvider } from "@opentelemetry/sdk-metrics";
import bcrypt from "bcrypt";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { isMigrateError } from "../../lib/errors.js";
import { readFile } from "node:fs/promises";
import type * as metricsModule from "../../lib/metrics.js";
import { METRIC_ATTRIBUTES, METRIC_NAMES, resolveMetrics, type MeterProviderLike } from "../../lib/metrics.js";
import { migrationEndpoint, type DualSessionOptions, type MigrationEvent } from "../../lib/session/index.js";
import { legacyAuth, createPgLegacyUsers, type LegacyAuthOptions } from "../../lib/auth/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { closedPort } from "../helpers/services.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, migratedApp, SECRET } from "../helpers/dual-app.js";
import { waitFor } from "../helpers/dual-fixtures.js";
import { createLegacyTable, form, signIn, startAuthApp, type LegacyTable } from "../helpers/legacy-auth.js";
import { testMeter, type TestMeter } from "./otel.js";

const N = METRIC_NAMES;
const REASON = "supertokens_migrate.reason";

let core: DevCore;
let meter: TestMeter;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
});
after(() => core.close());
afterEach(async () => {
  otel.disable();
  await meter?.shutdown();
});

/** A fresh MeterProvider per test: its counters start at zero. */
function freshMeter(): TestMeter {
  meter = testMeter();
  return meter;
}

const store = () => new expressSession.MemoryStore();
const legacyCookieOnly = (jar: { get(name: string): string | undefined }) => `connect.sid=${jar.get("connect.sid")}`;

/** The rejected counter as { reason: count }, comparable with stats().rejected. */
async function rejectedByReason(m: TestMeter): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of await m.points(N.sessionsRejected)) out[String(p.attributes[REASON])] = p.value;
  return out;
}

describe("dualSession's metrics", () => {
  it("count a migration, its reuse, its retirement on proof and each rejection by reason as stats() does", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const m = freshMeter();
    const s = store();
    const events: MigrationEvent[] = [];
    const { app, mw } = migratedApp({
      store: s,
      secret: SECRET,
      metrics: { meterProvider: m.provider },
      onMigration: (e) => events.push(e),
    });
    const jar = await legacyLogin(s, "metrics-1");

    const first = await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar));
    assert.equal(first.status, 200);
    assert.equal(first.body.userId, "metrics-1");
    assert.equal(await m.total(N.sessionsMigrated), 1);
    assert.equal(await m.total(N.sessionsReused), 0);

    // Another request of the same page load, still with the legacy cookie alone: the same tokens again.
    const second = await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar));
    assert.equal(second.body.handle, first.body.handle);
    assert.equal(await m.total(N.sessionsReused), 1);

    // The client proves it holds the new tokens: the legacy session is retired.
    jar.update(first);
    assert.equal((await request(app).get("/api/me").set("Cookie", jar.header("/api/me"))).status, 200);
    await waitFor(() => mw.stats().retired === 1, 5000, "retirement");
    assert.deepEqual(await m.points(N.sessionsRetired), [{ attributes: { [REASON]: "proof" }, value: 1 }]);

    // Rejections: a forged cookie, an anonymous legacy session, a session the store does not have, a cross-site POST.
    const anonymous = await legacyLogin(s, "x", { layout: "anonymous" });
    const forged = `connect.sid=${encodeURIComponent(`s:${sign("some-sid", "not-the-secret")}`)}`;
    const unknown = `connect.sid=${encodeURIComponent(`s:${sign("no-such-sid", SECRET)}`)}`;
    const other = await legacyLogin(s, "metrics-2");
    for (const cookie of [forged, legacyCookieOnly(anonymous), unknown]) {
      assert.equal((await request(app).get("/api/me").set("Cookie", cookie)).status, 401);
    }
    const crossSite = await request(app)
      .post("/api/me")
      .set("Cookie", legacyCookieOnly(other))
      .set("Origin", "https://evil.example");
    assert.equal(crossSite.status, 401);

    const stats = mw.stats();
    assert.deepEqual(await rejectedByReason(m), {
      "bad-signature": 1,
      anonymous: 1,
      "unknown-session": 1,
      csrf: 1,
    });
    assert.deepEqual(await rejectedByReason(m), stats.rejected);
    assert.equal(await m.total(N.sessionsMigrated), stats.migrated);
    assert.equal(await m.total(N.sessionsReused), stats.reused);
    assert.equal(await m.total(N.sessionsRetired), stats.retired);
    // Every event the hook saw is counted once, under the same name and reason.
    const counted = await Promise.all(
      (["migrated", "reused", "retired", "rejected"] as const).map(async (type) => [
        type,
        await m.total(
          {
            migrated: N.sessionsMigrated,
            reused: N.sessionsReused,
            retired: N.sessionsRetired,
            rejected: N.sessionsRejected,
          }[type],
        ),
      ]),
    );
    assert.deepEqual(
      Object.fromEntries(counted),
      Object.fromEntries(
        (["migrated", "reused", "retired", "rejected"] as const).map((t) => [
          t,
          events.filter((e) => e.type === t).length,
        ]),
      ),
    );
  });

  it("record how long each migration took, in seconds, once per session created", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const m = freshMeter();
    const s = store();
    const { app } = migratedApp({ store: s, secret: SECRET, metrics: { meterProvider: m.provider } });
    const started = performance.now();
    for (const user of ["d-1", "d-2", "d-3"]) {
      const jar = await legacyLogin(s, user);
      assert.equal((await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar))).status, 200);
    }
    const elapsed = (performance.now() - started) / 1000;
    const metric = await m.metric(N.migrationDuration);
    assert.ok(metric);
    assert.equal(metric.descriptor.unit, "s");
    assert.equal(metric.dataPointType, DataPointType.HISTOGRAM);
    const [point] = metric.dataPoints;
    const histogram = point.value as { count: number; sum?: number; min?: number; max?: number };
    assert.equal(histogram.count, 3);
    assert.ok(histogram.min! > 0, "a migration takes some time");
    assert.ok(histogram.sum! < elapsed, `the migrations (${histogram.sum} s) fit within the requests (${elapsed} s)`);
    // Seconds, not milliseconds: the buckets the metric advises resolve a migration of a few milliseconds.
    const boundaries = (point.value as { buckets: { boundaries: number[] } }).buckets.boundaries;
    assert.equal(boundaries[0], 0.005);
    assert.equal(boundaries.at(-1), 10);
  });

  it("count a legacy bearer token migrated by migrationEndpoint, and a token it rejects", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const m = freshMeter();
    const app = express();
    app.use(middleware());
    app.post(
      "/auth/migrate-session",
      migrationEndpoint({
        store: store(),
        secret: SECRET,
        metrics: { meterProvider: m.provider },
        verifyLegacyToken: (token) => (token === "legacy-token-9" ? "user-9" : undefined),
      }),
    );
    app.use(errorHandler());
    const ok = await request(app).post("/auth/migrate-session").set("Authorization", "Bearer legacy-token-9");
    assert.deepEqual(ok.body, { status: "OK", userId: "user-9" });
    const bad = await request(app).post("/auth/migrate-session").set("Authorization", "Bearer forged");
    assert.equal(bad.status, 401);
    assert.equal(await m.total(N.sessionsMigrated), 1);
    assert.deepEqual(await rejectedByReason(m), { "unknown-session": 1 });
    assert.equal((await m.metric(N.migrationDuration))?.dataPoints.length, 1);
  });

  it('count sessions cleared in mode "logout"', async () => {
    initSuperTokens(await createCoreApp(core.url));
    const m = freshMeter();
    const s = store();
    const { app } = migratedApp({ store: s, secret: SECRET, mode: "logout", metrics: { meterProvider: m.provider } });
    const jar = await legacyLogin(s, "leaving-1");
    assert.equal((await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar))).status, 401);
    assert.equal(await m.total(N.sessionsLoggedOut), 1);
    assert.equal(await m.total(N.sessionsMigrated), 0);
  });

  it("count a migration refused because the core is down as rejected, reason core-unavailable", async () => {
    initSuperTokens(`http://127.0.0.1:${await closedPort()}`);
    const m = freshMeter();
    const s = store();
    const { app } = migratedApp({ store: s, secret: SECRET, metrics: { meterProvider: m.provider } });
    const jar = await legacyLogin(s, "core-down-9");
    const res = await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar));
    assert.equal(res.status, 503);
    assert.deepEqual(await rejectedByReason(m), { "core-unavailable": 1 });
    assert.equal(await m.total(N.sessionsMigrated), 0);
  });

  it("still migrates when the meter provider throws, and when its instruments do", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const throwing: MeterProviderLike = {
      getMeter: () => {
        throw new Error("meter provider down");
      },
    };
    const fail = () => {
      throw new Error("exporter down");
    };
    const throwingInstruments: MeterProviderLike = {
      getMeter: () => ({ createCounter: () => ({ add: fail }), createHistogram: () => ({ record: fail }) }),
    };
    for (const meterProvider of [throwing, throwingInstruments]) {
      const s = store();
      const { app, mw } = migratedApp({ store: s, secret: SECRET, metrics: { meterProvider } });
      const jar = await legacyLogin(s, "unlucky");
      const res = await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar));
      assert.equal(res.status, 200);
      assert.equal(mw.stats().migrated, 1);
    }
  });
});

describe("the global MeterProvider of @opentelemetry/api", () => {
  it("is used by default, also when the app registers it after creating the middleware", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const s = store();
    const { app } = migratedApp({ store: s, secret: SECRET });
    const m = freshMeter();
    assert.equal(otel.setGlobalMeterProvider(m.provider), true);
    const jar = await legacyLogin(s, "global-1");
    assert.equal((await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar))).status, 200);
    assert.equal(await m.total(N.sessionsMigrated), 1);
  });

  it("is not used with `metrics: false`", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const m = freshMeter();
    otel.setGlobalMeterProvider(m.provider);
    const s = store();
    const { app, mw } = migratedApp({ store: s, secret: SECRET, metrics: false });
    const jar = await legacyLogin(s, "quiet-1");
    assert.equal((await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar))).status, 200);
    assert.equal(mw.stats().migrated, 1);
    assert.equal(await m.metric(N.sessionsMigrated), undefined);
  });

  it("takes the same series from several middlewares of one process", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const m = freshMeter();
    otel.setGlobalMeterProvider(m.provider);
    for (const user of ["shared-1", "shared-2"]) {
      const s = store();
      const { app } = migratedApp({ store: s, secret: SECRET, metrics: true });
      const jar = await legacyLogin(s, user);
      assert.equal((await request(app).get("/api/me").set("Cookie", legacyCookieOnly(jar))).status, 200);
    }
    assert.deepEqual(await m.points(N.sessionsMigrated), [{ attributes: {}, value: 2 }]);
  });
});

describe("before @opentelemetry/api has loaded", () => {
  it("what is recorded waits, and reaches the global MeterProvider once the API is found", async () => {
    // A copy of the module of its own, whose dynamic import of the API has not started yet.
    const fresh = (await import(
      new URL(`../../lib/metrics.ts?fresh=${Date.now()}`, import.meta.url).href
    )) as typeof metricsModule;
    const m = freshMeter();
    otel.setGlobalMeterProvider(m.provider);
    const sink = fresh.resolveMetrics("spec", undefined);
    // Synchronously, so before the import can have answered.
    sink.session({ type: "migrated" });
    sink.session({ type: "rejected", reason: "csrf" });
    await waitFor(async () => (await m.total(N.sessionsMigrated)) === 1, 5000, "the queued event recorded");
    assert.deepEqual(await rejectedByReason(m), { csrf: 1 });
  });
});

describe("legacyAuth's metrics", () => {
  const PASSWORD = "correct horse battery staple";
  let legacy: LegacyTable;
  /** bcrypt of PASSWORD: the core takes it as it is, so a sign-in imports it byte for byte. */
  let HASH: string;
  before(async () => {
    legacy = await createLegacyTable();
    HASH = await bcrypt.hash(PASSWORD, 10);
  });
  after(() => legacy.drop());

  function authApp(m: TestMeter, uri: string, extra: Partial<LegacyAuthOptions> = {}) {
    const auth = legacyAuth({
      ...createPgLegacyUsers({ pool: legacy.pool, table: legacy.table }),
      metrics: { meterProvider: m.provider },
      ...extra,
    });
    return startAuthApp(uri, auth);
  }

  it("count users moved by signing in (hash imported) and by a password reset, by the way they came", async () => {
    const m = freshMeter();
    const ctx = authApp(m, await createCoreApp(core.url));
    const a = await legacy.insert({ email: "a-metrics@example.com", passwordHash: HASH });
    assert.equal((await signIn(ctx.app, "a-metrics@example.com", PASSWORD)).userId, a);
    // A second sign-in is SuperTokens' own: nobody moves.
    assert.equal((await signIn(ctx.app, "a-metrics@example.com", PASSWORD)).userId, a);
    const b = await legacy.insert({ email: "b-metrics@example.com", passwordHash: HASH });
    // A wrong password moves nobody.
    assert.equal((await signIn(ctx.app, "b-metrics@example.com", "wrong")).body.status, "WRONG_CREDENTIALS_ERROR");
    assert.deepEqual(await m.points(N.usersMigrated), [
      { attributes: { "supertokens_migrate.via": "signIn", "supertokens_migrate.hash_imported": true }, value: 1 },
    ]);
    await request(ctx.app)
      .post("/auth/user/password/reset/token")
      .send(form({ email: "b-metrics@example.com" }));
    assert.equal(ctx.emails.length, 1);
    const token = new URL(ctx.emails[0].passwordResetLink).searchParams.get("token")!;
    const reset = await request(ctx.app)
      .post("/auth/user/password/reset")
      .send({ ...form({ password: "a new password 1" }), token });
    assert.deepEqual(reset.body, { status: "OK" });
    assert.equal((await signIn(ctx.app, "b-metrics@example.com", "a new password 1")).userId, b);

    const points = await m.points(N.usersMigrated);
    const key = (p: { attributes: Record<string, unknown> }) => JSON.stringify(p.attributes);
    assert.deepEqual(
      points.sort((x, y) => key(x).localeCompare(key(y))),
      [
        {
          attributes: { "supertokens_migrate.via": "passwordReset", "supertokens_migrate.hash_imported": false },
          value: 1,
        },
        { attributes: { "supertokens_migrate.via": "signIn", "supertokens_migrate.hash_imported": true }, value: 1 },
      ],
    );
    const metric = await m.metric(N.usersMigrated);
    assert.equal(metric?.descriptor.unit, "{user}");
  });
});

describe("the `metrics` option", () => {
  const base: DualSessionOptions = { store: store(), secret: SECRET };
  const pg = () => createPgLegacyUsers({ pool: { query: async () => ({ rows: [] }) }, table: "users" });

  for (const [label, value, code] of [
    ["a string", "yes", "ERR_MIGRATE_INVALID_OPTION"],
    ["an object without a provider", {}, "ERR_MIGRATE_INVALID_OPTION"],
    ["a provider without getMeter", { meterProvider: {} }, "ERR_MIGRATE_INVALID_OPTION"],
    [
      "a second key next to the provider",
      { meterProvider: otel.getMeterProvider(), meter: 1 },
      "ERR_MIGRATE_UNKNOWN_OPTION",
    ],
  ] as const) {
    it(`is refused when given ${label}, by each factory, with a code`, () => {
      const factories = [
        () => migratedApp({ ...base, metrics: value as never }),
        () => migrationEndpoint({ ...base, metrics: value as never }),
        () => legacyAuth({ ...pg(), metrics: value as never }),
      ];
      for (const make of factories) {
        assert.throws(make, (err: unknown) => {
          assert.ok(isMigrateError(err));
          assert.equal(err.code, code);
          assert.match(err.message, /metrics/);
          return true;
        });
      }
    });
  }

  it("takes the OpenTelemetry SDK's MeterProvider as its type says (checked by the compiler)", () => {
    const provider = new MeterProvider();
    const options: DualSessionOptions = { ...base, metrics: { meterProvider: provider } };
    const auth: LegacyAuthOptions = { ...pg(), metrics: { meterProvider: otel.getMeterProvider() } };
    assert.ok(options.metrics && auth.metrics);
  });
});

describe("docs/metrics.md", () => {
  it("lists every metric with the instrument and unit the SDK reports, and every attribute", async () => {
    const m = freshMeter();
    const sink = resolveMetrics("spec", { meterProvider: m.provider });
    for (const type of ["migrated", "reused", "retired", "rejected", "logged-out"]) sink.session({ type, reason: "x" });
    sink.migrationDuration(0.01);
    sink.userMigrated({ via: "signIn", hashImported: true });
    const doc = await readFile(new URL("../../docs/metrics.md", import.meta.url), "utf8");
    const rows = new Map(
      doc
        .split("\n")
        .map((line) => /^\| `(supertokens_migrate\.[a-z_.]+)` +\| (\w+) +\| `([^`]+)` +\|/.exec(line))
        .filter((row) => row !== null)
        .map(([, name, instrument, unit]) => [name, { instrument, unit }]),
    );
    assert.deepEqual([...rows.keys()].sort(), Object.values(METRIC_NAMES).sort());
    for (const name of Object.values(METRIC_NAMES)) {
      const { descriptor, dataPointType } = (await m.metric(name))!;
      const instrument = dataPointType === DataPointType.HISTOGRAM ? "Histogram" : "Counter";
      assert.deepEqual(rows.get(name), { instrument, unit: descriptor.unit }, name);
    }
    for (const attribute of Object.values(METRIC_ATTRIBUTES)) {
      assert.match(doc, new RegExp(`^\\| \`${attribute.replace(/\./g, "\\.")}\` +\\|`, "m"), attribute);
    }
  });
});
