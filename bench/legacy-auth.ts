// legacyAuth's first sign-in of a legacy bcrypt user against a plain SuperTokens sign-in, same run, same cost
// (issue 5: "about one extra bcrypt verify, no second hash"). Both go through the real SDK's /auth/signin in an
// Express app, against an in-process dev core whose own bcrypt cost is the legacy cost (10), and a PostgreSQL
// legacy table. Needs DATABASE_URL.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import bcrypt from "bcrypt";
import express from "express";
import pg from "pg";
import supertokens from "supertokens-node";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import { createPgLegacyUsers, legacyAuth } from "../lib/auth/index.js";
import { startDevCore } from "../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../spec/helpers/sdk.js";
import { requireEnv, uniqueId } from "../spec/helpers/services.js";
import type { BenchRow } from "./types.js";

const COST = 10;
const PASSWORD = "bench password 1";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function bench(): Promise<BenchRow[]> {
  const samples = Math.max(5, Number(process.env.BENCH_LEGACY_SAMPLES ?? 30));
  const core = await startDevCore({ config: { bcrypt_log_rounds: COST } });
  const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 5 });
  const table = `bench_legacy_users_${uniqueId()}`;
  let server: Server | undefined;
  try {
    await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, email text NOT NULL, password_hash text)`);
    // One hash for every row: each row is still a first sign-in (its own lookup, verify and move).
    const hash = await bcrypt.hash(PASSWORD, COST);
    const run = uniqueId();
    const legacyEmails = Array.from({ length: samples + 3 }, (_, i) => `legacy-${run}-${i}@bench.example`);
    for (const email of legacyEmails)
      await pool.query(`INSERT INTO ${table} (email, password_hash) VALUES ($1, $2)`, [email, hash]);

    resetSdk();
    supertokens.init({
      framework: "express",
      supertokens: { connectionURI: await createCoreApp(core.url) },
      appInfo,
      recipeList: [
        EmailPassword.init({ override: legacyAuth({ ...createPgLegacyUsers({ pool, table }), dummyHash: hash }) }),
        Session.init({ getTokenTransferMethod: () => "header" }),
      ],
    });
    const app = express();
    app.use(middleware());
    app.use(errorHandler());
    server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server!.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/signin`;

    const stEmails = Array.from({ length: samples + 3 }, (_, i) => `st-${run}-${i}@bench.example`);
    for (const email of stEmails) {
      const res = await EmailPassword.signUp("public", email, PASSWORD);
      if (res.status !== "OK") throw new Error(`bench setup: sign-up failed (${res.status})`);
    }

    const signIn = async (email: string) => {
      const start = performance.now();
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          formFields: [
            { id: "email", value: email },
            { id: "password", value: PASSWORD },
          ],
        }),
      });
      const body = (await res.json()) as { status: string };
      if (body.status !== "OK") throw new Error(`bench: sign-in answered ${res.status} ${body.status}`);
      return performance.now() - start;
    };

    // Warm-up: JIT, connections, the dummy hash.
    for (let i = 0; i < 3; i++) {
      await signIn(legacyEmails[samples + i]);
      await signIn(stEmails[samples + i]);
    }
    const legacyTimes: number[] = [];
    const stTimes: number[] = [];
    for (let i = 0; i < samples; i++) {
      // Alternate the order so load drift on a shared machine hits both alike.
      if (i % 2 === 0) {
        legacyTimes.push(await signIn(legacyEmails[i]));
        stTimes.push(await signIn(stEmails[i]));
      } else {
        stTimes.push(await signIn(stEmails[i]));
        legacyTimes.push(await signIn(legacyEmails[i]));
      }
    }
    legacyTimes.sort((a, b) => a - b);
    stTimes.sort((a, b) => a - b);
    const legacyP50 = percentile(legacyTimes, 0.5);
    const stP50 = percentile(stTimes, 0.5);
    const bcryptTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      await bcrypt.compare("not the password", hash);
      bcryptTimes.push(performance.now() - start);
    }
    bcryptTimes.sort((a, b) => a - b);
    const bcryptP50 = percentile(bcryptTimes, 0.5);
    const ratio = legacyP50 / stP50;
    const extraVerifies = (legacyP50 - stP50) / bcryptP50;
    return [
      {
        name: `legacyAuth: first sign-in, legacy bcrypt user (cost ${COST})`,
        value: 1000 / legacyP50,
        unit: "req/s",
        p50Ms: legacyP50,
        p99Ms: percentile(legacyTimes, 0.99),
        note: `${samples} sequential sign-ins over HTTP; lookup, verify, import, mapping, session`,
      },
      {
        name: `SuperTokens sign-in, same cost (${COST})`,
        value: 1000 / stP50,
        unit: "req/s",
        p50Ms: stP50,
        p99Ms: percentile(stTimes, 0.99),
        note: `${samples} sequential sign-ins over HTTP, interleaved with the above`,
      },
      {
        name: "first legacy sign-in ÷ SuperTokens sign-in (p50)",
        value: ratio,
        unit: "×",
        note:
          `one bcrypt compare = ${bcryptP50.toFixed(1)} ms here, so the move costs ${extraVerifies.toFixed(2)} ` +
          `extra verifies; no hash is computed`,
      },
    ];
  } finally {
    server?.closeAllConnections();
    server?.close();
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.end();
    await core.close();
  }
}
