/**
 * `supertokens-migrate dev-core --data`: a tryout survives a restart of the CLI process, with the data in a
 * directory (embedded PostgreSQL, PGlite) or in a PostgreSQL database (currentSchema in the URL, as for the core).
 * Each case signs a user up and creates a session, stops the process with SIGTERM, starts a new one on the same
 * data, and signs the same user in (same id) and finds the session.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { requireEnv, uniqueId } from "../helpers/services.js";

let dir: string;
let pool: pg.Pool;
const schema = `stm_devdata_${uniqueId()}`;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "stm-dev-core-data-"));
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
});

interface Running {
  child: ChildProcess;
  url: string;
  out: () => string;
}

/** Start the CLI and wait for its "listening on" line. */
async function start(data: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "lib/cli/main.ts", "dev-core", "--port", "0", "--data", data],
    { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`dev-core exited with ${code}: ${err}`)));
  });
  return { child, url, out: () => out };
}

async function stop(r: Running): Promise<void> {
  const exited = once(r.child, "exit");
  r.child.kill("SIGTERM");
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, "the dev core stops cleanly on SIGTERM");
}

async function call(url: string, p: string, body: unknown) {
  const res = await fetch(url + p, {
    method: "POST",
    headers: { "content-type": "application/json", "cdi-version": "5.4", rid: "emailpassword" },
    body: JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the core's JSON, asserted field by field
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

async function survivesRestart(data: string): Promise<string> {
  const first = await start(data);
  const signUp = await call(first.url, "/public/recipe/signup", { email: "keep@example.com", password: "pass-word-1" });
  assert.equal(signUp.json.status, "OK");
  const userId = signUp.json.user.id as string;
  const session = await call(first.url, "/public/recipe/session", {
    userId,
    recipeUserId: userId,
    userDataInJWT: {},
    userDataInDatabase: { note: "kept" },
    enableAntiCsrf: false,
  });
  assert.equal(session.json.status, "OK");
  const handle = session.json.session.handle as string;
  const firstOut = first.out();
  await stop(first);

  const second = await start(data);
  try {
    const signIn = await call(second.url, "/public/recipe/signin", {
      email: "keep@example.com",
      password: "pass-word-1",
    });
    assert.equal(signIn.json.status, "OK");
    assert.equal(signIn.json.user.id, userId, "the same user after the restart");
    const info = await fetch(`${second.url}/public/recipe/session?sessionHandle=${handle}`, {
      headers: { "cdi-version": "5.4" },
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    assert.equal(info.status, "OK");
    assert.deepEqual(info.userDataInDatabase, { note: "kept" });
  } finally {
    await stop(second);
  }
  return firstOut;
}

describe("dev-core --data", () => {
  it("a directory (embedded PostgreSQL) keeps users and sessions across a restart", async () => {
    const out = await survivesRestart(path.join(dir, "core-data"));
    assert.match(out, /data: embedded PostgreSQL \(PGlite\) in .*core-data/);
  });

  it("a PostgreSQL URL (schema from currentSchema) keeps users and sessions across a restart", async () => {
    const url = new URL(requireEnv("DATABASE_URL"));
    url.searchParams.set("currentSchema", schema);
    const out = await survivesRestart(url.toString());
    assert.match(out, new RegExp(`data: PostgreSQL .*, schema ${schema}`));
    assert.ok(!out.includes(`${url.username}:${url.password}@`) && !/\S@\S/.test(out), "no credentials in the output");
    const rows = await pool.query(`SELECT email FROM ${schema}.emailpassword_users`);
    assert.deepEqual(rows.rows, [{ email: "keep@example.com" }]);
  });

  it("a directory another live dev core holds is refused, naming it", async () => {
    const data = path.join(dir, "held");
    const first = await start(data);
    try {
      await assert.rejects(start(data), /another dev core \(pid \d+\) is using .*held/);
    } finally {
      await stop(first);
    }
  });

  it("a path that is a file, not a directory, fails with the reason", async () => {
    const file = path.join(dir, "a-file");
    await writeFile(file, "x");
    await assert.rejects(start(file), /exited with 1: supertokens-migrate: .*(EEXIST|ENOTDIR|not a directory)/);
  });
});
