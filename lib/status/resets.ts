import { readFile, rename, writeFile } from "node:fs/promises";
import supertokens from "supertokens-node";
import { CollectingResponse, PreParsedRequest, middleware } from "supertokens-node/framework/custom";
import { ConfigError, MigrateError, UnavailableError, isMigrateError } from "../errors.js";
import { booleanOption, invalidOption, missingOption, readOptions, stringOption, type OptionKeys } from "../options.js";
import { statusLog } from "./log.js";

/** What sendResetToStragglers needs of `legacyAuth()`'s result: the lookup across both stores. */
export interface StragglerLookup {
  getUserById(
    id: string,
  ): Promise<{ source: "supertokens" | "legacy"; id: string; email: string | undefined } | undefined>;
}

export interface SendResetOptions {
  /** The object `legacyAuth({ ... })` returned, the one given to `EmailPassword.init({ override })`. Required. */
  legacyAuth?: StragglerLookup;
  /** Legacy ids of the users to send a reset to: the `rest` of `supertokens-migrate finish`'s report. Required. */
  userIds?: readonly string[];
  /** Tenant whose reset to send. Default `public`. */
  tenantId?: string;
  /** The `apiBasePath` given to `supertokens.init`. Default `/auth`, as in supertokens-node. */
  apiBasePath?: string;
  /** Decide for every user, send nothing and write no report. Default false. */
  dryRun?: boolean;
  /**
   * A JSON file for this run's report. Users an earlier report at the same path lists as sent are not sent to
   * again, so a re-run (after a crash or for new stragglers) reaches only who it has not reached. Default: none.
   */
  report?: string;
}

export type ResetSkipReason = "already-sent" | "in-supertokens" | "not-found" | "refused";

/** Version 1. Ids and reasons only: never an email, a token or a link. */
export interface SendResetReport {
  version: 1;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  counts: { input: number; sent: number; wouldSend: number; skipped: number; skippedByReason: Record<string, number> };
  /** Every user a reset went to, by this run or an earlier one with the same report file. */
  sent: { id: string; at: string }[];
  /** Dry run only. */
  wouldSend: { id: string }[];
  skipped: { id: string; reason: ResetSkipReason; detail?: string }[];
}

const KEYS = {
  legacyAuth: true,
  userIds: true,
  tenantId: true,
  apiBasePath: true,
  dryRun: true,
  report: true,
} satisfies OptionKeys<SendResetOptions>;

const DEFAULTS = Object.freeze({ tenantId: "public", apiBasePath: "/auth", dryRun: false });
const what = "sendResetToStragglers";

/**
 * For users who never came back: sends each legacy-only user the password-reset email through the app's own
 * reset endpoint, run in process (supertokens-node's custom-framework middleware), so the request takes exactly
 * the path a browser's would: the app's API overrides, legacyAuth()'s reset for users SuperTokens does not have
 * yet (a single-use token tied to the legacy identity, T15) and EmailPassword's `emailDelivery`. Must run where
 * `supertokens.init` ran with that config. Users already in SuperTokens are skipped (they came back meanwhile).
 */
export async function sendResetToStragglers(options: SendResetOptions): Promise<SendResetReport> {
  const o = readOptions(what, options, KEYS, "with `legacyAuth` and `userIds`");
  const lookup = o.legacyAuth;
  if (lookup === undefined) throw missingOption(what, "legacyAuth", "the object legacyAuth({ ... }) returned.");
  if (typeof lookup !== "object" || lookup === null || typeof lookup.getUserById !== "function")
    throw invalidOption(what, "legacyAuth", "the object legacyAuth({ ... }) returned", lookup);
  if (o.userIds === undefined) throw missingOption(what, "userIds", "the legacy ids from finish's report (`rest`).");
  const given: unknown = o.userIds;
  if (!Array.isArray(given) || given.some((id) => typeof id !== "string" || id === ""))
    throw invalidOption(what, "userIds", "an array of non-empty strings", given);
  const ids = [...new Set(given as string[])];
  const tenantId = stringOption(what, "tenantId", o.tenantId, DEFAULTS.tenantId, {
    test: (s) => /^[a-z0-9-]+$/.test(s),
    expected: "a tenant id ([a-z0-9-]+)",
  });
  const apiBasePath = stringOption(what, "apiBasePath", o.apiBasePath, DEFAULTS.apiBasePath, {
    test: (s) => s.startsWith("/"),
    expected: "a path starting with /",
  });
  const dryRun = booleanOption(what, "dryRun", o.dryRun, DEFAULTS.dryRun);
  const reportPath = stringOption(what, "report", o.report, undefined, { expected: "a file path" });

  assertSdkReady();
  const earlier = reportPath ? await readEarlier(reportPath) : new Map<string, string>();
  const startedAt = new Date().toISOString();
  const sent = new Map(earlier);
  const wouldSend: { id: string }[] = [];
  const skipped: SendResetReport["skipped"] = [];
  const tenantPath = tenantId === "public" ? "" : `/${tenantId}`;
  const path = `${apiBasePath.replace(/\/+$/, "")}${tenantPath}/user/password/reset/token`;

  const report = (): SendResetReport => {
    const skippedByReason: Record<string, number> = {};
    for (const s of skipped) skippedByReason[s.reason] = (skippedByReason[s.reason] ?? 0) + 1;
    return {
      version: 1,
      dryRun,
      startedAt,
      finishedAt: new Date().toISOString(),
      counts: {
        input: ids.length,
        sent: [...sent.keys()].filter((id) => !earlier.has(id)).length,
        wouldSend: wouldSend.length,
        skipped: skipped.length,
        skippedByReason,
      },
      sent: [...sent].map(([id, at]) => ({ id, at })),
      wouldSend,
      skipped,
    };
  };

  try {
    for (const id of ids) {
      if (earlier.has(id)) {
        skipped.push({ id, reason: "already-sent", detail: `sent ${earlier.get(id)}` });
        continue;
      }
      const user = await lookup.getUserById(id);
      if (user === undefined) {
        skipped.push({ id, reason: "not-found", detail: "no legacy row and no SuperTokens user has this id" });
        continue;
      }
      if (user.source === "supertokens") {
        skipped.push({ id, reason: "in-supertokens", detail: "moved since the list was made" });
        continue;
      }
      if (dryRun) {
        wouldSend.push({ id });
        continue;
      }
      const refused = await requestReset(path, user.email!);
      if (refused !== undefined) {
        skipped.push({ id, reason: "refused", detail: refused });
        continue;
      }
      sent.set(id, new Date().toISOString());
      statusLog("reset requested for legacy user %s", id);
    }
  } finally {
    // Written even when a send failed midway: the users already reached must not be sent to again.
    if (reportPath && !dryRun) await writeAtomically(reportPath, report());
  }
  return report();
}

/** The reset goes through the app's SDK: without EmailPassword initialised in this process there is no such path. */
function assertSdkReady(): void {
  let ready: boolean;
  try {
    ready = supertokens.isRecipeInitialized("emailpassword");
  } catch {
    ready = false;
  }
  if (!ready)
    throw new ConfigError(
      "ERR_MIGRATE_SDK_NOT_INITIALISED",
      `${what}: supertokens-node is not initialised with EmailPassword in this process. Call it inside the app, ` +
        "after supertokens.init with EmailPassword.init({ override: legacyAuth(...), emailDelivery }).",
    );
}

/** POST <apiBasePath>/user/password/reset/token in process. Undefined when answered OK, else why it was refused. */
async function requestReset(path: string, email: string): Promise<string | undefined> {
  const request = new PreParsedRequest({
    url: path,
    method: "post",
    headers: new Headers({ "content-type": "application/json", rid: "emailpassword" }),
    cookies: {},
    query: {},
    getJSONBody: () => Promise.resolve({ formFields: [{ id: "email", value: email }] }),
    getFormBody: () => Promise.resolve({}),
  });
  const response = new CollectingResponse();
  let outcome: { handled?: boolean; error?: unknown };
  try {
    outcome = await middleware()(request, response);
  } catch (err) {
    outcome = { error: err };
  }
  if (outcome.error !== undefined) {
    const message = outcome.error instanceof Error ? outcome.error.message : typeof outcome.error;
    if (/initiali[sz]ation not done|init function/i.test(message))
      throw new ConfigError(
        "ERR_MIGRATE_SDK_NOT_INITIALISED",
        `${what}: supertokens-node is not initialised in this process. Call it where the app calls ` +
          "supertokens.init with EmailPassword (its emailDelivery and legacyAuth's override).",
      );
    // legacyAuth's own errors (a store or the core down) keep their code; the SDK's are an unreachable core.
    if (isMigrateError(outcome.error)) throw outcome.error;
    throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `${what}: the reset request failed: ${message}`, {
      cause: outcome.error,
    });
  }
  if (!outcome.handled)
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `${what}: supertokens-node did not handle POST ${path}. Pass the \`apiBasePath\` given to supertokens.init, ` +
        "and keep EmailPassword's reset API enabled.",
    );
  let body: { status?: unknown; formFields?: { error?: unknown }[] } | undefined;
  try {
    body = JSON.parse(response.body ?? "") as typeof body;
  } catch {
    body = undefined;
  }
  if (response.statusCode === 200 && body?.status === "OK") return undefined;
  const reason = body?.formFields?.[0]?.error ?? body?.status;
  return `the app's reset endpoint answered ${typeof reason === "string" ? reason : `HTTP ${response.statusCode}`}`;
}

async function readEarlier(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw err;
  }
  let parsed: Partial<SendResetReport>;
  try {
    parsed = JSON.parse(text) as Partial<SendResetReport>;
  } catch {
    parsed = {};
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.sent))
    throw new MigrateError(
      "ERR_MIGRATE_BAD_INPUT",
      `${what}: ${path} exists and is not a report of sendResetToStragglers (version 1). Pass another \`report\` ` +
        "path, or move that file away.",
    );
  return new Map(parsed.sent.map((s) => [s.id, s.at]));
}

async function writeAtomically(path: string, report: SendResetReport): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(report, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, path);
}
