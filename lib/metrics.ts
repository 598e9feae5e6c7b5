/*
 * Migration events as OpenTelemetry metrics (docs/metrics.md), recorded through @opentelemetry/api so that they
 * reach whatever MeterProvider the app registers, next to stats() and the onMigration/onUserMigrated hooks.
 *
 * @opentelemetry/api is an optional peer: nothing here imports it statically, and no type of the public API
 * names it. Without it installed the package loads and works in both builds, and recording costs one branch.
 * It is found with a dynamic import (a `require` in the CommonJS build, as tsc compiles it there), which is
 * asynchronous: what happens before it resolves is queued, then recorded or dropped.
 *
 * Metrics never break a request: whatever a provider, meter or instrument throws is logged and ignored.
 */
import { log } from "./debug.js";
import { invalidOption, rejectUnknownKeys } from "./options.js";
import { packageVersion } from "./version.js";

const debug = log.extend("metrics");

/** The instrumentation scope every instrument is created under. */
export const METER_NAME = "supertokens-migrate";

/** Every metric's name, for dashboards and tests. */
export const METRIC_NAMES = Object.freeze({
  sessionsMigrated: "supertokens_migrate.sessions.migrated",
  sessionsReused: "supertokens_migrate.sessions.reused",
  sessionsRetired: "supertokens_migrate.sessions.retired",
  sessionsRejected: "supertokens_migrate.sessions.rejected",
  sessionsLoggedOut: "supertokens_migrate.sessions.logged_out",
  migrationDuration: "supertokens_migrate.sessions.migration.duration",
  usersMigrated: "supertokens_migrate.users.migrated",
});

/** The attributes the instruments carry: values from a fixed set, never a user id, email or session handle. */
export const METRIC_ATTRIBUTES = Object.freeze({
  reason: "supertokens_migrate.reason",
  via: "supertokens_migrate.via",
  hashImported: "supertokens_migrate.hash_imported",
});

type Attributes = Record<string, string | boolean>;

interface InstrumentOptions {
  description?: string;
  unit?: string;
  /** @opentelemetry/api's ValueType: 0 is INT. */
  valueType?: number;
  advice?: { explicitBucketBoundaries?: number[] };
}

/**
 * What the package uses of an OpenTelemetry MeterProvider. `@opentelemetry/api`'s MeterProvider and the SDK's
 * fit it; declared here so that the package's types do not require @opentelemetry/api to be installed.
 */
export interface MeterProviderLike {
  getMeter(
    name: string,
    version?: string,
  ): {
    createCounter(name: string, options?: InstrumentOptions): { add(value: number, attributes?: Attributes): void };
    createHistogram(
      name: string,
      options?: InstrumentOptions,
    ): { record(value: number, attributes?: Attributes): void };
  };
}

/**
 * The `metrics` option of dualSession(), migrationEndpoint() and legacyAuth(). Default (undefined): the global
 * MeterProvider of @opentelemetry/api when that package is installed, nothing otherwise. `true`: the same, and
 * a loud line when @opentelemetry/api is missing. `false`: no metrics. `{ meterProvider }`: that provider.
 */
export type MigrationMetricsOption = boolean | { meterProvider: MeterProviderLike };

/** Where dualSession, migrationEndpoint and legacyAuth report what they counted. */
export interface MigrationMetrics {
  /** A dualSession/migrationEndpoint event, as onMigration receives it. */
  session(event: { type: string; reason?: string }): void;
  /** How long a request that created a SuperTokens session spent migrating, in seconds. */
  migrationDuration(seconds: number): void;
  /** A legacy user moved into SuperTokens, as onUserMigrated receives it. */
  userMigrated(event: { via: string; hashImported: boolean }): void;
  /** For the creation debug line: "off", "global MeterProvider", "given MeterProvider". */
  readonly source: string;
}

type Counter = ReturnType<ReturnType<MeterProviderLike["getMeter"]>["createCounter"]>;
type Histogram = ReturnType<ReturnType<MeterProviderLike["getMeter"]>["createHistogram"]>;

interface Instruments {
  migrated: Counter;
  reused: Counter;
  retired: Counter;
  rejected: Counter;
  loggedOut: Counter;
  duration: Histogram;
  usersMigrated: Counter;
}

const INT = 0;
/**
 * Seconds, from 5 ms to 10 s: a migration is a store read, a claim and a session creation in the core. The SDK's
 * default boundaries (0 to 10000) are meant for milliseconds and would put every migration in the first bucket.
 */
const DURATION_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** One set per provider: every dualSession, migrationEndpoint and legacyAuth of a process adds to the same series. */
const byProvider = new WeakMap<MeterProviderLike, Instruments>();

function instrumentsOf(provider: MeterProviderLike): Instruments {
  const known = byProvider.get(provider);
  if (known) return known;
  const meter = provider.getMeter(METER_NAME, packageVersion);
  const counter = (name: string, unit: string, description: string) =>
    meter.createCounter(name, { unit, description, valueType: INT });
  const instruments: Instruments = {
    migrated: counter(
      METRIC_NAMES.sessionsMigrated,
      "{session}",
      "Legacy sessions and tokens migrated to a new SuperTokens session.",
    ),
    reused: counter(
      METRIC_NAMES.sessionsReused,
      "{session}",
      "Requests given the tokens of a migration made moments before for the same legacy credential.",
    ),
    retired: counter(
      METRIC_NAMES.sessionsRetired,
      "{session}",
      "Legacy sessions destroyed in the legacy store, by reason.",
    ),
    rejected: counter(
      METRIC_NAMES.sessionsRejected,
      "{session}",
      "Legacy credentials that gave no SuperTokens session, by reason.",
    ),
    loggedOut: counter(
      METRIC_NAMES.sessionsLoggedOut,
      "{session}",
      'Legacy sessions cleared without a SuperTokens session (mode "logout").',
    ),
    duration: meter.createHistogram(METRIC_NAMES.migrationDuration, {
      unit: "s",
      description: "Time a request spent migrating its legacy credential, for those that created a session.",
      advice: { explicitBucketBoundaries: DURATION_BOUNDARIES },
    }),
    usersMigrated: counter(
      METRIC_NAMES.usersMigrated,
      "{user}",
      "Legacy users moved into SuperTokens by legacyAuth, by the way they came (sign-in or password reset).",
    ),
  };
  byProvider.set(provider, instruments);
  return instruments;
}

/** What the package uses of @opentelemetry/api. */
interface OtelApi {
  metrics: { getMeterProvider(): MeterProviderLike };
}

/** How far finding @opentelemetry/api got. While loading, records wait in `queue` (at most QUEUE_LIMIT). */
type ApiState =
  { status: "loading"; queue: Array<() => void> } | { status: "ready"; api: OtelApi } | { status: "absent" };

const QUEUE_LIMIT = 1000;
let apiState: ApiState | undefined;
/** Whether someone asked for metrics with `metrics: true`; then a missing @opentelemetry/api is said loudly. */
let required = false;

/** Why @opentelemetry/api could not be used, once known. */
let absentBecause = "";

function missingApiLine(): void {
  console.error(
    `supertokens-migrate: \`metrics: true\` was given but @opentelemetry/api ${absentBecause}, so no migration ` +
      "metrics are recorded. Install it next to your OpenTelemetry SDK (npm install @opentelemetry/api) and " +
      "register a MeterProvider, or leave `metrics` undefined to record them only when it is installed.",
  );
}

/** Starts finding @opentelemetry/api, once per copy of the package. */
function loadApi(): void {
  if (apiState) return;
  const state: ApiState = { status: "loading", queue: [] };
  apiState = state;
  import("@opentelemetry/api").then(
    (api: OtelApi) => {
      apiState = { status: "ready", api };
      debug("@opentelemetry/api found: recording to its global MeterProvider");
      for (const record of state.queue) record();
    },
    (err: { code?: string; message?: string }) => {
      apiState = { status: "absent" };
      const missing = err?.code === "ERR_MODULE_NOT_FOUND" || err?.code === "MODULE_NOT_FOUND";
      absentBecause = missing ? "is not installed" : `failed to load (${err?.message ?? "no message"})`;
      debug("@opentelemetry/api %s: no metrics", absentBecause);
      if (required) missingApiLine();
    },
  );
}

/** The global provider's instruments, undefined when there is none; `later` runs once the API is found. */
function globalInstruments(later: () => void): Instruments | undefined {
  const state = apiState!;
  if (state.status === "ready") return instrumentsOf(state.api.metrics.getMeterProvider());
  if (state.status === "loading") {
    if (state.queue.length < QUEUE_LIMIT) state.queue.push(later);
    else debug("a metric recorded before @opentelemetry/api loaded was dropped (queue full)");
  }
  return undefined;
}

const NO_METRICS: MigrationMetrics = Object.freeze({
  session: () => undefined,
  migrationDuration: () => undefined,
  userMigrated: () => undefined,
  source: "off",
});

function createMetrics(source: string, instruments: (later: () => void) => Instruments | undefined): MigrationMetrics {
  const record = (use: (i: Instruments) => void) => {
    const attempt = () => {
      try {
        const found = instruments(attempt);
        if (found) use(found);
      } catch (err) {
        debug("recording a metric failed (%s); ignored", (err as Error)?.message ?? String(err));
      }
    };
    attempt();
  };
  return Object.freeze({
    source,
    session(event: { type: string; reason?: string }) {
      const attributes: Attributes = event.reason ? { [METRIC_ATTRIBUTES.reason]: event.reason } : {};
      record((i) => {
        if (event.type === "migrated") i.migrated.add(1);
        else if (event.type === "reused") i.reused.add(1);
        else if (event.type === "retired") i.retired.add(1, attributes);
        else if (event.type === "rejected") i.rejected.add(1, attributes);
        else if (event.type === "logged-out") i.loggedOut.add(1);
      });
    },
    migrationDuration(seconds: number) {
      record((i) => i.duration.record(seconds));
    },
    userMigrated(event: { via: string; hashImported: boolean }) {
      const attributes = { [METRIC_ATTRIBUTES.via]: event.via, [METRIC_ATTRIBUTES.hashImported]: event.hashImported };
      record((i) => i.usersMigrated.add(1, attributes));
    },
  });
}

const PROVIDER_KEYS = { meterProvider: true } as const;

/** Resolves the `metrics` option of `what` (dualSession, migrationEndpoint, legacyAuth) once, at creation. */
export function resolveMetrics(what: string, value: unknown): MigrationMetrics {
  if (value === false) return NO_METRICS;
  if (value === undefined || value === true) {
    if (value === true && !required) {
      required = true;
      if (apiState?.status === "absent") missingApiLine();
    }
    loadApi();
    return createMetrics("global MeterProvider", globalInstruments);
  }
  const given = typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  const provider = (given as { meterProvider?: unknown } | undefined)?.meterProvider as MeterProviderLike | undefined;
  if (!given || typeof provider?.getMeter !== "function") {
    throw invalidOption(
      what,
      "metrics",
      "true, false or { meterProvider } with an OpenTelemetry MeterProvider",
      value,
      "Leave it undefined to record to the global MeterProvider of @opentelemetry/api when it is installed.",
    );
  }
  rejectUnknownKeys(`${what}: metrics`, given, PROVIDER_KEYS);
  return createMetrics("given MeterProvider", () => instrumentsOf(provider));
}
