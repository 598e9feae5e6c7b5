/**
 * "Sign in with Acme" in the demo, in Chromium, end to end through the real identity provider (oidc-provider on
 * loopback, demo-app/idp.ts): no step of the sign-in is mocked. Frank has only an Acme login, and is the seeded
 * admin; carol has a password and an Acme login. On the old system they sign in through passport's OpenID Connect
 * strategy; the demo is then switched to SuperTokens while they are signed in, and they stay signed in with
 * their legacy ids, notes and role.
 *
 * The steps build on each other, as in spec/demo/demo-browser.spec.ts: one demo process, one browser per person.
 * SuperTokens' side is what `npm run demo` runs: the dev core in the demo's process, on the embedded database.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { signInWithProvider } from "../../demo-app/acme.js";
import { openPostgres, type Database } from "../../demo-app/db.js";
import { listUsers, roleOf } from "../../demo-app/roles.js";
import { prepareDatabase, seededUsers } from "../../demo-app/schema.js";
import { launchChromium, screenshotter } from "../helpers/browser.js";
import { startDemoProcess, type DemoProcess } from "../helpers/demo-process.js";

const shot = screenshotter("demo-acme");
const viewport = { width: 1100, height: 800 };

let browser: Browser;
let dataDir: string;
let demo: DemoProcess | undefined;
/** Frank's browser: signed in with Acme on the old system, carried across the switch. */
let frank: BrowserContext;
let frankPage: Page;
let frankId: string;
/** Carol's: signed in with Acme too, on the account that also has her password. */
let carolPage: Page;

const frankSeed = seededUsers.find((u) => u.email === "frank@example.com")!;
const carolSeed = seededUsers.find((u) => u.email === "carol@example.com")!;
/** Ids follow the seed order (a SERIAL column on an empty table). */
const legacyIdOf = (email: string) => String(seededUsers.findIndex((u) => u.email === email) + 1);

/** The roles claim (UserRoles' `st-role`) of the browser's SuperTokens access token. */
async function rolesInAccessToken(context: BrowserContext): Promise<unknown> {
  const token = (await context.cookies()).find((c) => c.name === "sAccessToken")?.value;
  assert.ok(token, "a SuperTokens access token");
  const payload = JSON.parse(Buffer.from(decodeURIComponent(token).split(".")[1], "base64url").toString("utf8")) as {
    "st-role"?: { v?: unknown };
  };
  return payload["st-role"]?.v;
}

async function noteTexts(page: Page): Promise<string[]> {
  return page.locator("#notes .note-body").allTextContents();
}

/** Acme's own pages: its login form, then (first time in this browser) its consent page. */
async function throughAcme(page: Page, email: string, password: string, expectConsent = true): Promise<void> {
  await page.waitForSelector("#idp-login-form");
  const acmeUrl = new URL(page.url());
  assert.notEqual(acmeUrl.origin, demo!.url, "the sign-in happens at the identity provider, not in the app");
  assert.match(await page.title(), /Acme ID/);
  await page.fill("#idp-email", email);
  await page.fill("#idp-password", password);
  await shot(page, `acme-login-${email.split("@")[0]}`);
  await page.click("#idp-sign-in");
  if (expectConsent) {
    await page.waitForSelector("#idp-consent-form");
    await page.click("#idp-allow");
  }
}

/** A fresh browser that signs in on the demo's login page with "Sign in with Acme". */
async function signInWithAcme(email: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${demo!.url}/login`);
  await page.click("#sign-in-acme");
  await throughAcme(page, email, password);
  return { context, page };
}

/** Waits for the notes page; on a timeout, says where the browser is, what the page says and what the demo logged. */
async function waitForNotes(page: Page): Promise<void> {
  try {
    await page.waitForURL(`${demo!.url}/notes`, { timeout: 30_000 });
  } catch (err) {
    const error = await page.textContent("#form-error").catch(() => null);
    throw new Error(
      `not on /notes but on ${page.url()} (form error: ${error ?? "none"})\n` +
        `demo output:\n${demo!.output().split("\n").slice(-30).join("\n")}`,
      { cause: err },
    );
  }
}

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "stm-demo-acme-"));
  browser = await launchChromium();
  demo = await startDemoProcess({ migration: false, dataDir });
});

after(async () => {
  const code = await demo?.stop();
  await browser?.close();
  await rm(dataDir, { recursive: true, force: true });
  assert.equal(code, 0, `the demo must exit cleanly on SIGTERM:\n${demo?.output()}`);
});

describe("Sign in with Acme in the demo, in a browser", () => {
  it("(1) on the old system, frank (Acme login only) signs in through Acme's pages and adds a note", async () => {
    assert.match(demo!.output(), /Acme OpenID Connect provider at http:\/\/127\.0\.0\.1:\d+/);
    ({ context: frank, page: frankPage } = await signInWithAcme("frank@example.com", frankSeed.acme!.password));
    await waitForNotes(frankPage);
    assert.equal(await frankPage.getAttribute("#served-by", "data-system"), "legacy");
    assert.equal(await frankPage.textContent("#who-email"), "frank@example.com");
    frankId = (await frankPage.textContent("#who-id"))!;
    assert.equal(frankId, legacyIdOf("frank@example.com"), "his legacy id, found through his Acme identity");
    assert.deepEqual(await noteTexts(frankPage), [...frankSeed.notes]);

    await frankPage.fill("#note-body", "Written on the old system after signing in with Acme");
    await frankPage.click("#add-note-form button[type=submit]");
    await frankPage.waitForSelector("text=Written on the old system after signing in with Acme");
    const cookies = (await frank.cookies()).map((c) => c.name);
    assert.ok(cookies.includes("connect.sid"), `an express-session cookie: ${cookies.join(",")}`);
    assert.ok(!cookies.includes("sAccessToken"), "no SuperTokens yet");
    assert.match(demo!.output(), new RegExp(`user ${frankId} signed in with Acme`));
    await shot(frankPage, "01-frank-signed-in-with-acme");
  });

  it("(1) frank is the admin: the admin-only user list shows every user and how each signs in", async () => {
    const res = await frankPage.goto(`${demo!.url}/admin/users`);
    assert.equal(res?.status(), 200);
    const row = (id: string) => frankPage.locator(`#users tr[data-user-id="${id}"] td`).allTextContents();
    assert.deepEqual(await row(frankId), [frankId, "frank@example.com", "admin", "acme"]);
    assert.deepEqual(await row(legacyIdOf("carol@example.com")), [
      legacyIdOf("carol@example.com"),
      "carol@example.com",
      "user",
      "password, acme",
    ]);
  });

  it("(1) carol, who also has a password, lands on her legacy account through Acme and is no admin", async () => {
    ({ page: carolPage } = await signInWithAcme("carol@example.com", carolSeed.acme!.password));
    await waitForNotes(carolPage);
    assert.equal(await carolPage.textContent("#who-id"), legacyIdOf("carol@example.com"));
    assert.deepEqual(await noteTexts(carolPage), [...carolSeed.notes]);
    const res = await carolPage.goto(`${demo!.url}/admin/users`);
    assert.equal(res?.status(), 403);
    assert.match((await carolPage.textContent("main"))!, /Only admins can see the user list/);
  });

  it("(1) an Acme account whose unverified email is a legacy user's is refused that user's account", async () => {
    const { context, page } = await signInWithAcme("dave@example.com", "mallory-1");
    await page.waitForURL(/\/auth\/acme\/callback/);
    assert.match((await page.textContent("#form-error"))!, /Acme has not verified dave@example\.com/);
    assert.equal(await page.textContent("#who-id").catch(() => null), null, "not signed in");
    await page.goto(`${demo!.url}/notes`);
    assert.equal(new URL(page.url()).pathname, "/login", "no session");
    await context.close();
  });

  it("(1) cancelling at Acme comes back to the login page, not signed in", async () => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${demo!.url}/login`);
    await page.click("#sign-in-acme");
    await page.waitForSelector("#idp-login-form");
    const cancelled = page.waitForResponse((r) => r.url().startsWith(`${demo!.url}/auth/acme/callback`));
    await page.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await cancelled).status(), 401);
    assert.match((await page.textContent("#form-error"))!, /Signing in with Acme did not complete/);
    await context.close();
  });

  it("(2) after the switch frank is still signed in, with his id, his notes and his role", async () => {
    await frankPage.goto(`${demo!.url}/notes`);
    await frankPage.getByRole("button", { name: "Switch to SuperTokens" }).click();
    await frankPage.waitForURL(`${demo!.url}/notes`);
    assert.equal(await frankPage.getAttribute("#served-by", "data-system"), "supertokens");
    assert.ok(await frankPage.isVisible("#converted-banner"), "his legacy session was converted on this request");
    assert.equal(await frankPage.textContent("#who-email"), "frank@example.com");
    assert.equal(await frankPage.textContent("#who-id"), frankId, "the SuperTokens session is for his legacy id");
    await frankPage.waitForSelector("#notes");
    assert.deepEqual(await noteTexts(frankPage), [
      ...frankSeed.notes,
      "Written on the old system after signing in with Acme",
    ]);
    const cookies = (await frank.cookies()).map((c) => c.name);
    assert.ok(cookies.includes("sAccessToken") && cookies.includes("sRefreshToken"), cookies.join(","));
    await shot(frankPage, "02-frank-after-the-switch");

    assert.deepEqual(await rolesInAccessToken(frank), ["admin"], "the converted session carries his role");
    const res = await frankPage.goto(`${demo!.url}/admin/users`);
    assert.equal(res?.status(), 200, "still the admin, by SuperTokens' roles claim");
    assert.equal(await frankPage.textContent(`#users tr[data-user-id="${frankId}"] td.role`), "admin");

    const carol = await carolPage.goto(`${demo!.url}/admin/users`);
    assert.equal(await carolPage.getAttribute("#served-by", "data-system"), "supertokens");
    assert.equal(await carolPage.textContent("#who-id"), legacyIdOf("carol@example.com"), "carol converted too");
    assert.equal(carol?.status(), 403, "and still no admin");
  });

  it("(2) frank adds a note through the SuperTokens app, under the same id", async () => {
    await frankPage.goto(`${demo!.url}/notes`);
    await frankPage.fill("#note-body", "Written after the switch");
    await frankPage.click("#add-note-form button[type=submit]");
    await frankPage.waitForSelector("text=Written after the switch");
    const me = await frankPage.evaluate(async () => (await fetch("/api/me")).json());
    assert.deepEqual(me, { userId: frankId, email: "frank@example.com", system: "supertokens", account: "legacy" });
  });
});

describe("Sign in with Acme after the switch, through SuperTokens ThirdParty", () => {
  it("(3) frank signs in again on another browser through SuperTokens: same id, notes and role", async () => {
    const { context, page } = await signInWithAcme("frank@example.com", frankSeed.acme!.password);
    await waitForNotes(page);
    assert.equal(await page.getAttribute("#served-by", "data-system"), "supertokens");
    assert.equal(await page.textContent("#who-email"), "frank@example.com");
    assert.equal(await page.textContent("#who-id"), frankId, "his legacy id, not a new SuperTokens user");
    assert.equal(await page.getAttribute("#who-account", "data-account"), "supertokens", "his account moved");
    await page.waitForSelector("#notes");
    assert.deepEqual(await noteTexts(page), [
      ...frankSeed.notes,
      "Written on the old system after signing in with Acme",
      "Written after the switch",
    ]);
    assert.match(
      demo!.output(),
      new RegExp(`user ${frankId} \\(frank@example\\.com\\) moved to SuperTokens on thirdParty`),
    );
    assert.deepEqual(await rolesInAccessToken(context), ["admin"], "his first SuperTokens session has his role");
    const res = await page.goto(`${demo!.url}/admin/users`);
    assert.equal(res?.status(), 200, "still the admin");
    await shot(page, "03-frank-signed-in-again-through-supertokens");
    await context.close();
  });

  it("(3) carol, with a password too, lands on her legacy id through SuperTokens' Acme sign-in", async () => {
    const { context, page } = await signInWithAcme("carol@example.com", carolSeed.acme!.password);
    await waitForNotes(page);
    assert.equal(await page.textContent("#who-id"), legacyIdOf("carol@example.com"));
    assert.deepEqual(await noteTexts(page), [...carolSeed.notes]);
    const res = await page.goto(`${demo!.url}/admin/users`);
    assert.equal(res?.status(), 403, "no admin after the move either");
    await context.close();
  });

  it("(3) someone new at Acme gets a new SuperTokens user, not anyone's legacy id", async () => {
    const { context, page } = await signInWithAcme("grace@example.com", "grace-acme-1");
    await waitForNotes(page);
    assert.equal(await page.textContent("#who-email"), "grace@example.com");
    const id = (await page.textContent("#who-id"))!;
    assert.match(id, /^[0-9a-f-]{36}$/, `a SuperTokens user id: ${id}`);
    assert.equal(await page.locator("#no-notes").count(), 1, "nobody's notes");
    assert.deepEqual(await rolesInAccessToken(context), [], "and no role");
    await context.close();
  });

  it("(3) an Acme account with dave's email, unverified, is refused through SuperTokens too", async () => {
    const { context, page } = await signInWithAcme("dave@example.com", "mallory-1");
    await page.waitForURL(/\/account\/callback\/acme/);
    await page.waitForFunction(() => document.querySelector("#form-error")?.textContent !== "");
    assert.equal(new URL(page.url()).pathname, "/account/callback/acme", "not signed in, still on the callback");
    assert.match((await page.textContent("#form-error"))!, /This email belongs to an existing account/);
    assert.equal(await page.locator("#who-id").count(), 0, "not signed in");
    await context.close();
  });

  it("(4) after alice moves by password, the progress page counts the moved users per login method", async () => {
    const aliceSeed = seededUsers.find((u) => u.email === "alice@example.com")!;
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${demo!.url}/login`);
    await page.fill("#email", aliceSeed.email);
    await page.fill("#password", aliceSeed.password!);
    await page.click("#sign-in-form button[type=submit]");
    await waitForNotes(page);
    assert.equal(await page.textContent("#who-id"), legacyIdOf("alice@example.com"));
    assert.equal(await page.getAttribute("#who-account", "data-account"), "supertokens", "her account moved");
    await context.close();

    await frankPage.goto(`${demo!.url}/admin`);
    const cell = (selector: string) => frankPage.textContent(selector);
    assert.equal(await cell("#users-moved"), "3", "frank and carol by Acme, alice by password");
    assert.equal(await cell("#users-total"), String(seededUsers.length));
    assert.equal(await cell("#moved-emailpassword"), "1", "alice; carol has a password but moved by Acme");
    assert.equal(await cell("#moved-thirdparty"), "2", "frank and carol; grace signed up, she did not move");
    assert.equal(await cell('#moved-by-method td[data-provider="acme"]'), "2");
    assert.equal(await cell("#moved-passwordless"), "0");
    assert.match((await cell("main"))!, /counts under each/, "the page says a linked user counts twice");
    await shot(frankPage, "04-progress-by-login-method");
  });
});

/**
 * The legacy app's rule for provider sign-ins (signInWithProvider) and its seed, on a real PostgreSQL in a schema
 * of its own: the decisions the browser steps above go through, each one on its own.
 */
describe("the legacy app's provider identities, on PostgreSQL", () => {
  let db: Database;
  const schema = `demo_acme_${process.pid}_${Date.now()}`;
  const frankSub = frankSeed.acme!.sub;

  before(async () => {
    const url = process.env.DATABASE_URL;
    assert.ok(url, "DATABASE_URL (node scripts/test.mjs starts a PostgreSQL when it is not set)");
    db = await openPostgres(url, schema);
    assert.deepEqual(await prepareDatabase(db), { seeded: true });
  });
  after(async () => {
    await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db?.close();
  });

  it("seeds frank as an Acme-only admin and carol with a password and Acme", async () => {
    const users = await listUsers(db);
    assert.deepEqual(
      users.map((u) => [u.email, u.role, u.hasPassword, u.providers.join(",")]),
      seededUsers.map((u) => [u.email, u.role, u.password !== null, u.acme ? "acme" : ""]),
    );
    assert.equal(await roleOf(db, legacyIdOf("frank@example.com")), "admin");
    assert.equal(await roleOf(db, "no-such-id"), undefined);
    assert.deepEqual(await prepareDatabase(db), { seeded: false }, "a second start seeds nothing");
  });

  it("brings an earlier demo's database up to date: roles, the Acme identities and frank, nothing else", async () => {
    const old = await openPostgres(process.env.DATABASE_URL!, `${schema}_old`);
    try {
      // The tables as the demo created them before "Sign in with Acme", with alice's note and a changed hash.
      await old.exec(
        "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT, name TEXT NOT " +
          "NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now()); CREATE TABLE notes (id SERIAL PRIMARY KEY, " +
          "user_id TEXT NOT NULL, body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());",
      );
      for (const u of seededUsers.filter((x) => x.password))
        await old.query("INSERT INTO users (email, password_hash, name) VALUES ($1, 'old-hash', $2)", [
          u.email,
          u.name,
        ]);
      await old.query("INSERT INTO notes (user_id, body) VALUES ('1', 'Only note of alice')");

      assert.deepEqual(await prepareDatabase(old), { seeded: true });
      const users = await listUsers(old);
      assert.deepEqual(
        users.map((u) => [u.email, u.role, u.providers.join(",")]),
        seededUsers.map((u) => [u.email, u.role, u.acme ? "acme" : ""]),
      );
      const { rows } = await old.query<{ user_id: string; body: string }>(
        "SELECT user_id, body FROM notes ORDER BY id",
      );
      assert.deepEqual(
        rows.map((r) => [r.user_id, r.body]),
        [["1", "Only note of alice"], ...frankSeed.notes.map((n) => [legacyIdOf("frank@example.com"), n])],
        "notes only for the user it added",
      );
      const hashes = await old.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = 1");
      assert.equal(hashes.rows[0].password_hash, "old-hash", "existing users keep their password");
      assert.deepEqual(await prepareDatabase(old), { seeded: false });
    } finally {
      await old.query(`DROP SCHEMA IF EXISTS "${schema}_old" CASCADE`);
      await old.close();
    }
  });

  it("signs a known identity in as its user, and keeps the provider's latest email state", async () => {
    const result = await signInWithProvider(db, "acme", {
      sub: frankSub,
      email: "frank@example.com",
      emailVerified: false,
    });
    assert.deepEqual(result, { status: "OK", userId: legacyIdOf("frank@example.com"), created: false, linked: false });
    const { rows } = await db.query<{ email_verified: boolean }>(
      "SELECT email_verified FROM legacy_identities WHERE provider = 'acme' AND provider_user_id = $1",
      [frankSub],
    );
    assert.equal(rows[0].email_verified, false);
  });

  it("links a new identity to the user whose email the provider verified", async () => {
    const result = await signInWithProvider(db, "acme", {
      sub: "acme-erin",
      email: " Erin@Example.com ",
      emailVerified: true,
    });
    assert.deepEqual(result, { status: "OK", userId: legacyIdOf("erin@example.com"), created: false, linked: true });
    const again = await signInWithProvider(db, "acme", { sub: "acme-erin", emailVerified: true });
    assert.equal(again.status === "OK" && again.userId, legacyIdOf("erin@example.com"), "found by its sub next time");
  });

  it("refuses a new identity claiming a user's email the provider did not verify, and links nothing", async () => {
    const result = await signInWithProvider(db, "acme", {
      sub: "acme-mallory",
      email: "alice@example.com",
      emailVerified: false,
    });
    assert.deepEqual(result, { status: "EMAIL_NOT_VERIFIED", email: "alice@example.com" });
    const { rows } = await db.query("SELECT 1 FROM legacy_identities WHERE provider_user_id = 'acme-mallory'");
    assert.equal(rows.length, 0);
  });

  it("creates a user without a password for someone new, and refuses one without an email", async () => {
    const result = await signInWithProvider(db, "acme", {
      sub: "acme-heidi",
      email: "heidi@example.com",
      emailVerified: true,
      name: "Heidi",
    });
    assert.equal(result.status, "OK");
    const heidi = (await listUsers(db)).find((u) => u.email === "heidi@example.com");
    assert.deepEqual(heidi && [heidi.role, heidi.hasPassword, heidi.providers], ["user", false, ["acme"]]);
    assert.deepEqual(await signInWithProvider(db, "acme", { sub: "acme-anon", emailVerified: false }), {
      status: "NO_EMAIL",
    });
  });
});
