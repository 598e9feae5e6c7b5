/**
 * The demo app in a real browser (Debian's Chromium through playwright-core), with its embedded defaults: PGlite
 * for the users, notes and legacy session tables, connect-pg-simple as the legacy store, and the dev core keeping
 * its data in the same database. It starts as `npm run demo` does, on the old system.
 *
 * The steps build on each other, as a person trying the demo would: alice signs in on the legacy app, presses
 * the page's "Switch to SuperTokens" (the same process carries on with the migration on), and so on; a last step
 * restarts the process with --migration on the same data directory. Access tokens live 2 s, so every step after
 * the switch also runs through silent refreshes.
 *
 * Each step of the story (demo-app/story.ts) gets a screenshot 1100 px wide in spec/artifacts/demo/story/;
 * with UPDATE_DEMO_IMAGES=1 they also replace docs/images/demo-<step>.png, the pictures the README shows.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { storySteps, type StoryStepId } from "../../demo-app/story.js";
import { launchChromium, screenshotter } from "../helpers/browser.js";
import { startDemoProcess, type DemoProcess } from "../helpers/demo-process.js";

const ACCESS_TOKEN_VALIDITY_S = 2;
const shot = screenshotter("demo");
const storyShot = screenshotter(path.join("demo", "story"));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The README's pictures are taken at this width (and the browsers below open at it). */
const STORY_WIDTH = 1100;
const viewport = { width: STORY_WIDTH, height: 800 };

/**
 * The screenshot of one step of the story, at 1100 px: spec/artifacts/demo/story/demo-<step>.png, copied to
 * docs/images/ when UPDATE_DEMO_IMAGES=1 (so an ordinary run leaves the committed pictures alone).
 */
async function storyPicture(page: Page, step: StoryStepId): Promise<void> {
  assert.equal(page.viewportSize()?.width, STORY_WIDTH, "story pictures are 1100 px wide");
  await storyShot(page, `demo-${step}`);
  if (process.env.UPDATE_DEMO_IMAGES === "1") {
    const docs = path.join(root, "docs", "images");
    await mkdir(docs, { recursive: true });
    await copyFile(
      path.join(root, "spec", "artifacts", "demo", "story", `demo-${step}.png`),
      path.join(docs, `demo-${step}.png`),
    );
  }
}

/** The demo guide's state of each step, as the page shows it. */
async function storyStates(page: Page): Promise<Record<string, string | null>> {
  const states: Record<string, string | null> = {};
  for (const step of storySteps)
    states[step.id] = await page.getAttribute(`#story [data-step="${step.id}"]`, "data-state");
  return states;
}

/** Asserts that the guide ticks exactly the first `done` steps, and names the next one. */
async function assertStory(page: Page, done: number): Promise<void> {
  const expected: Record<string, string> = {};
  storySteps.forEach((step, i) => (expected[step.id] = i < done ? "done" : i === done ? "current" : "todo"));
  assert.deepEqual(await storyStates(page), expected);
  const hint = (await page.textContent("#story-hint"))!.replace(/\s+/g, " ");
  if (done < storySteps.length)
    assert.match(hint, new RegExp(`Step ${done + 1} of ${storySteps.length}: ${storySteps[done].label}\\.`));
  else assert.match(hint, /That is the whole story/);
}

let browser: Browser;
let dataDir: string;
let demo: DemoProcess | undefined;
/** Alice's browser: signed in on the legacy app, then carried across the restart. */
let alice: BrowserContext;
let alicePage: Page;
/** Erin, also signed in on the old system, did not press the switch: her browser is converted on its next page. */
let erinPage: Page;
/** Requests erin's converting page took: a 503 (a loaded machine) and its retry can prove the new tokens. */
let erinRequests = 1;

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name).sort();
}

async function cookieValue(context: BrowserContext, name: string): Promise<string | undefined> {
  return (await context.cookies()).find((c) => c.name === name)?.value;
}

async function noteTexts(page: Page): Promise<string[]> {
  return page.locator("#notes .note-body").allTextContents();
}

/**
 * What a person would see go wrong in the browser's console while using `page`: console errors, requests that
 * failed, and answers of 400 and over (a missing /favicon.ico included). `problems()` lists them so far.
 */
function watchConsole(page: Page): { problems(): string[] } {
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) => problems.push(`failed: ${req.url()} (${req.failure()?.errorText})`));
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`${res.status()}: ${res.url()}`);
  });
  return { problems: () => [...problems] };
}

/**
 * The page at a phone's, a small laptop's and a desktop's width: nothing sticks out sideways at any; from 1100 px
 * up the header's parts (brand, links, who is signed in, sign-out) sit on one line; the demo guide's seven steps
 * sit in one row at every width, inside the window, and so do the switch button (when the page has it) and the
 * conversion banner (when it has that). Restores the 1100 px viewport.
 */
async function checkWidths(page: Page, name: string): Promise<void> {
  for (const width of [390, 1100, 1440]) {
    await page.setViewportSize({ width, height: 800 });
    const layout = await page.evaluate(() => {
      const header = document.querySelector("header")!;
      const parts = [...header.querySelectorAll(".brand, nav a, .who > *")].map((el) => el.getBoundingClientRect());
      const centres = parts.map((r) => r.top + r.height / 2);
      const steps = [...document.querySelectorAll("#story .step")].map((el) => el.getBoundingClientRect());
      const stepTops = steps.map((r) => r.top);
      // Anonymous callbacks only: tsx names a named inner function with a helper the page does not have.
      const [story, switchButton, banner] = ["#story", "#switch-to-supertokens", ".banner"].map((selector) => {
        const r = document.querySelector(selector)?.getBoundingClientRect();
        return r && { left: r.left, right: r.right, width: r.width, height: r.height };
      });
      return {
        scrollWidth: document.documentElement.scrollWidth,
        rows: Math.max(...centres) - Math.min(...centres),
        parts: parts.length,
        steps: steps.length,
        stepRows: Math.max(...stepTops) - Math.min(...stepTops),
        smallestStep: Math.min(...steps.map((r) => r.width)),
        story,
        switchButton,
        banner,
      };
    });
    assert.ok(layout.scrollWidth <= width, `${width} px: the page is ${layout.scrollWidth} px wide`);
    assert.ok(layout.parts >= 5, `header parts found: ${layout.parts}`);
    if (width >= 1100) assert.ok(layout.rows < 8, `${width} px: the header wraps (${layout.rows} px between rows)`);
    assert.equal(layout.steps, storySteps.length, "the guide shows every step");
    assert.ok(layout.stepRows < 2, `${width} px: the guide's steps wrap (${layout.stepRows} px between rows)`);
    assert.ok(layout.smallestStep >= 28, `${width} px: a step is ${layout.smallestStep} px wide`);
    for (const [what, b] of Object.entries({
      guide: layout.story,
      "switch button": layout.switchButton,
      banner: layout.banner,
    })) {
      if (!b) continue;
      assert.ok(b.left >= 0 && b.right <= width && b.height > 0, `${width} px: the ${what} is ${JSON.stringify(b)}`);
    }
    await shot(page, `${name}-${width}px`);
  }
  await page.setViewportSize(viewport);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A page load as a person does it on a busy machine: the product may answer 503 with Retry-After (a store or
 * the core too slow), never "no session"; the person reloads after the time it asks for.
 */
/** Returns how many requests it took. */
async function gotoRetrying503(page: Page, url: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const res = await page.goto(url);
    if (res?.status() !== 503 || attempt === 4) return attempt + 1;
    const retryAfter = Number(res.headers()["retry-after"]);
    assert.ok(retryAfter > 0, `a 503 says when to retry: ${JSON.stringify(res.headers())}`);
    await sleep(retryAfter * 1000);
  }
}

/**
 * Retiring the legacy session finishes after the response that proved the client holds the new tokens (the
 * store's destroy runs in the background): reload the progress page until it shows the counter, up to 15 s.
 */
async function adminShows(page: Page, selector: string, ...expected: string[]): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await page.goto(`${demo!.url}/admin`);
    const text = await page.textContent(selector);
    if (expected.includes(text ?? "") || Date.now() > deadline) {
      assert.ok(expected.includes(text ?? ""), `${selector}: ${text} is not one of ${expected.join(", ")}`);
      return text!;
    }
  }
}

/** A fresh browser (own cookie jar) signed in through the SuperTokens sign-in form. */
async function signInWithNewForm(email: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${demo!.url}/login`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("#sign-in-form button[type=submit]");
  await page.waitForURL(`${demo!.url}/notes`);
  return { context, page };
}

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "stm-demo-"));
  browser = await launchChromium();
});

after(async () => {
  const code = await demo?.stop();
  await browser?.close();
  await rm(dataDir, { recursive: true, force: true });
  assert.equal(code, 0, `the demo must exit cleanly on SIGTERM:\n${demo?.output()}`);
});

describe("demo app in a browser, embedded defaults", () => {
  it("(1) starts on the old system: alice signs in with the legacy form, gets an express-session cookie", async () => {
    // What `npm run demo` starts: the legacy app, with the switch (the helper's --legacy is the default made explicit).
    demo = await startDemoProcess({ migration: false, dataDir, accessTokenValidity: ACCESS_TOKEN_VALIDITY_S });
    assert.match(demo.output(), /on the old system: express-session; the page's button switches it to SuperTokens/);
    alice = await browser.newContext({ viewport });
    alicePage = await alice.newPage();
    const watched = watchConsole(alicePage);
    await alicePage.goto(`${demo.url}/login`);
    assert.equal(await alicePage.getAttribute("#served-by", "data-system"), "legacy");
    await assertStory(alicePage, 0);
    await alicePage.fill("#email", "alice@example.com");
    await alicePage.fill("#password", "alice-pass-1");
    await storyPicture(alicePage, "legacy-sign-in");
    await alicePage.click("#sign-in-form button[type=submit]");
    await alicePage.waitForURL(`${demo.url}/notes`);
    await alicePage.fill("#note-body", "Written before the switch");
    await alicePage.click("#add-note-form button[type=submit]");
    await alicePage.waitForSelector("text=Written before the switch");

    assert.equal(await alicePage.textContent("#who-email"), "alice@example.com");
    assert.equal(await alicePage.textContent("#who-id"), "1");
    assert.deepEqual(await noteTexts(alicePage), [
      "Buy oat milk",
      "Call the plumber about the boiler",
      "Written before the switch",
    ]);
    assert.deepEqual(await cookieNames(alice), ["connect.sid"]);
    await alicePage.goto(`${demo.url}/admin`);
    assert.doesNotMatch((await alicePage.textContent("main"))!, new RegExp(escapeRegExp(dataDir)));
    const erin = await browser.newContext({ viewport });
    erinPage = await erin.newPage();
    await erinPage.goto(`${demo.url}/login`);
    await erinPage.fill("#email", "erin@example.com");
    await erinPage.fill("#password", "erin-pass-1");
    await erinPage.click("#sign-in-form button[type=submit]");
    await erinPage.waitForURL(`${demo.url}/notes`);

    await alicePage.goto(`${demo.url}/notes`);
    await assertStory(alicePage, 1);
    const button = alicePage.getByRole("button", { name: "Switch to SuperTokens" });
    assert.ok(await button.isVisible(), "the switch is on the page");
    assert.deepEqual(watched.problems(), [], "nothing goes wrong in the console on the legacy pages");
    await storyPicture(alicePage, "switch");
    await checkWidths(alicePage, "01-legacy");
  });

  it("(2) the switch refuses a post from another site, a GET, and leaves the app on the old system", async () => {
    const request = alicePage.request;
    const crossSite = await request.post(`${demo!.url}/demo/switch?next=/notes`, {
      headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" },
      maxRedirects: 0,
    });
    assert.equal(crossSite.status(), 403);
    const fromNullOrigin = await request.post(`${demo!.url}/demo/switch`, {
      headers: { origin: "null" },
      maxRedirects: 0,
    });
    assert.equal(fromNullOrigin.status(), 403);
    const get = await request.get(`${demo!.url}/demo/switch`, { maxRedirects: 0 });
    assert.equal(get.status(), 405);
    assert.equal(get.headers().allow, "POST");
    await alicePage.reload();
    assert.equal(await alicePage.getAttribute("#served-by", "data-system"), "legacy");
    await assertStory(alicePage, 1);
  });

  it("(3) the switch to SuperTokens: alice is still signed in, converted, then her cookie retired", async () => {
    const url = demo!.url;
    const watched = watchConsole(alicePage);
    await alicePage.getByRole("button", { name: "Switch to SuperTokens" }).click();
    await alicePage.waitForURL(`${url}/notes`);
    assert.match(demo!.output(), /switched to SuperTokens in this process/);
    assert.doesNotMatch(demo!.output(), /SIGTERM/, "no restart");

    assert.equal(await alicePage.getAttribute("#served-by", "data-system"), "supertokens");
    const banner = alicePage.getByRole("status").filter({ hasText: "Your old session was converted" });
    assert.ok(await banner.isVisible(), "the conversion is shown in a banner above the page");
    assert.equal(
      (await banner.locator(".banner-title").innerText()).replace(/\s+/g, " "),
      "Your old session was converted to a SuperTokens session — you are still signed in as alice@example.com.",
    );
    assert.equal(await alicePage.textContent("#who-email"), "alice@example.com");
    assert.equal(await alicePage.textContent("#who-id"), "1", "the SuperTokens session is for the legacy user id");
    assert.equal(
      await alicePage.getAttribute("#who-account", "data-account"),
      "legacy",
      "her session moved; her account moves when she next signs in",
    );
    assert.deepEqual(await noteTexts(alicePage), [
      "Buy oat milk",
      "Call the plumber about the boiler",
      "Written before the switch",
    ]);
    const names = await cookieNames(alice);
    for (const name of ["sAccessToken", "sRefreshToken"])
      assert.ok(names.includes(name), `${name} in ${names.join(",")}`);
    assert.equal(await alicePage.locator("#switch-to-supertokens").count(), 0, "switched once, for good");
    await assertStory(alicePage, 3);
    await storyPicture(alicePage, "still-signed-in");
    assert.deepEqual(watched.problems(), [], "nothing goes wrong in the console on the switch and conversion");

    // The next request proves the browser holds the new tokens: the legacy session is retired, its cookie cleared.
    await alicePage.reload();
    await alicePage.waitForSelector("#notes");
    assert.equal(await alicePage.textContent("#who-email"), "alice@example.com");
    assert.equal(await alicePage.locator("#converted-banner").count(), 0, "converted once, shown once");
    assert.match((await alicePage.textContent("#retired-banner"))!, /old express-session cookie was retired/);
    assert.ok(
      !(await cookieNames(alice)).includes("connect.sid"),
      `legacy cookie gone: ${(await cookieNames(alice)).join(",")}`,
    );
    await assertStory(alicePage, 4);
    await storyPicture(alicePage, "legacy-cookie-retired");
    await checkWidths(alicePage, "03-retired");

    // Erin's browser, signed in on the old system too, is converted on its first page after the switch.
    const erinWatched = watchConsole(erinPage);
    erinRequests = await gotoRetrying503(erinPage, `${url}/notes`);
    assert.equal(await erinPage.textContent("#converted-email"), "erin@example.com");
    assert.equal(await erinPage.textContent("#who-id"), "5");
    assert.deepEqual(erinWatched.problems(), [], "nothing goes wrong in the console on erin's converting page");
    await checkWidths(erinPage, "02-converted");
    await erinPage.context().close();

    // A second press (another tab still showing the old page) just goes back: nothing restarts.
    const again = await alicePage.request.post(`${url}/demo/switch?next=/admin`, { maxRedirects: 0 });
    assert.equal(again.status(), 303);
    assert.equal(again.headers().location, "/admin");
  });

  it("(3) an expired access token is refreshed silently, on a page load and on an API call", async () => {
    const refreshes: number[] = [];
    alicePage.on("response", (res) => {
      if (new URL(res.url()).pathname === "/auth/session/refresh") refreshes.push(res.status());
    });
    const before = await cookieValue(alice, "sAccessToken");
    await sleep(ACCESS_TOKEN_VALIDITY_S * 1000 + 700);

    // A full page load with an expired token: the refresh page lets the SDK refresh, then reloads.
    await alicePage.goto(`${demo!.url}/notes`);
    await alicePage.waitForSelector("#notes");
    assert.equal(new URL(alicePage.url()).pathname, "/notes");
    assert.equal(await alicePage.textContent("#who-email"), "alice@example.com");
    // One refresh, or more on a machine so slow that the 2 s token expires again before the reload renders.
    assert.ok(
      refreshes.length >= 1 && refreshes.every((s) => s === 200),
      `refreshed for the page load: ${refreshes.join(",")}`,
    );
    const afterFirst = refreshes.length;
    const afterPageLoad = await cookieValue(alice, "sAccessToken");
    assert.ok(afterPageLoad && afterPageLoad !== before, "a new access token");

    // An API call with an expired token: the SDK's fetch refreshes and retries, the note is saved.
    await sleep(ACCESS_TOKEN_VALIDITY_S * 1000 + 700);
    const saved = alicePage.waitForResponse(
      (res) => new URL(res.url()).pathname === "/api/notes" && res.status() === 201,
    );
    await alicePage.fill("#note-body", "Saved after a silent refresh");
    await alicePage.click("#add-note-form button[type=submit]");
    await saved;
    await alicePage.waitForSelector("text=Saved after a silent refresh");
    assert.ok(
      refreshes.length > afterFirst && refreshes.every((s) => s === 200),
      `refreshed for the API call: ${refreshes.join(",")}`,
    );
    assert.equal(await alicePage.textContent("#who-email"), "alice@example.com");
    await shot(alicePage, "04-after-silent-refresh");
  });

  it("(4) a legacy-only user signs in through the new form and keeps his id and notes", async () => {
    const { context, page } = await signInWithNewForm("bob@example.com", "bob-pass-1");
    assert.equal(await page.getAttribute("#served-by", "data-system"), "supertokens");
    assert.equal(await page.locator("#converted-banner").count(), 0, "a sign-in is no conversion");
    assert.equal(await page.textContent("#who-email"), "bob@example.com");
    assert.equal(await page.textContent("#who-id"), "2");
    assert.equal(await page.getAttribute("#who-account", "data-account"), "supertokens");
    assert.deepEqual(await noteTexts(page), ["Book review: The Pragmatic Programmer", "Renew passport"]);
    await assertStory(page, 5);
    await storyPicture(page, "old-password-sign-in");

    const favicon = await page.request.get(`${demo!.url}/favicon.ico`);
    assert.equal(favicon.status(), 200);
    assert.match(favicon.headers()["content-type"], /^image\/svg\+xml/);
    const me = await page.evaluate(async () => (await fetch("/api/me")).json());
    assert.deepEqual(me, { userId: "2", email: "bob@example.com", system: "supertokens", account: "supertokens" });
    await context.close();
  });

  it("(5) sign-up with the email of a legacy-only user is refused with a clear message", async () => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${demo!.url}/signup`);
    await page.fill("#email", "dave@example.com");
    await page.fill("#password", "takeover-123");
    await page.click("#sign-up-form button[type=submit]");
    await page.waitForSelector("#form-error:not(:empty)");
    assert.match((await page.textContent("#form-error"))!, /already exists/i);
    assert.equal(new URL(page.url()).pathname, "/signup");
    assert.ok(!(await cookieNames(context)).includes("sAccessToken"), "no session for the stranger");
    await storyPicture(page, "sign-up-refused");
    await page.reload();
    assert.equal(await page.getAttribute('#story [data-step="sign-up-refused"]', "data-state"), "done");

    // Dave's own password still works, and he is still dave (id 4).
    await context.close();
    const dave = await signInWithNewForm("dave@example.com", "dave-pass-1");
    assert.equal(await dave.page.textContent("#who-id"), "4");
    await dave.context.close();
  });

  it("(6) a legacy-only user resets a forgotten password from the emailed link, then signs in", async () => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${demo!.url}/forgot-password`);
    await page.fill("#email", "carol@example.com");
    await page.click("#forgot-form button[type=submit]");
    await page.waitForSelector("#form-done:not(.hidden)");

    await page.goto(`${demo!.url}/outbox`);
    const link = page.locator('li[data-to="carol@example.com"] a.reset-link').first();
    const href = (await link.getAttribute("href"))!;
    assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\/account\/reset-password\?token=/);
    await shot(page, "07-reset-email-in-outbox");
    await link.click();
    await page.waitForURL(/\/account\/reset-password/);
    await page.fill("#password", "carol-new-pass-2");
    await shot(page, "08-choose-new-password");
    await page.click("#reset-form button[type=submit]");
    await page.waitForURL(/\/login\?reset=1/);

    // The old password is gone with the reset; the new one signs carol in, with her id and notes.
    await page.fill("#email", "carol@example.com");
    await page.fill("#password", "carol-pass-1");
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForSelector("#form-error:not(:empty)");
    assert.equal(await page.textContent("#form-error"), "Wrong email or password.");
    await page.fill("#password", "carol-new-pass-2");
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForURL(`${demo!.url}/notes`);
    assert.equal(await page.textContent("#who-email"), "carol@example.com");
    assert.equal(await page.textContent("#who-id"), "3");
    assert.deepEqual(await noteTexts(page), ["Quarterly report due Friday"]);
    await shot(page, "09-signed-in-with-new-password");
    await context.close();
  });

  it("(7) signs out (the SuperTokens cookies go), then the progress page adds the story up", async () => {
    await alicePage.goto(`${demo!.url}/notes`);
    await alicePage.waitForSelector("#notes");
    await alicePage.click("#sign-out");
    await alicePage.waitForURL(/\/login\?signedOut=1/);
    assert.equal(await alicePage.textContent("#notice"), "You are signed out.");
    const names = await cookieNames(alice);
    assert.ok(
      !names.includes("sAccessToken") && !names.includes("sRefreshToken"),
      `no SuperTokens cookies: ${names.join(",")}`,
    );
    await shot(alicePage, "10-signed-out");

    await alicePage.goto(`${demo!.url}/notes`);
    assert.equal(new URL(alicePage.url()).pathname, "/login");
    // The progress page, last of the story: its own visit ticks the last step.
    const watched = watchConsole(alicePage);
    // Erin's legacy session waits for its grace window, unless her page was retried after a 503: the retry carried
    // her new tokens and the legacy cookie, which proves the switch and retires it too.
    const retired = await adminShows(alicePage, "#sessions-retired", ...(erinRequests > 1 ? ["1", "2"] : ["1"]));
    assert.equal(await alicePage.textContent("#sessions-migrated"), "2", "alice's and erin's");
    assert.equal(
      await alicePage.textContent("#legacy-sessions"),
      retired === "1" ? "1" : "0",
      "alice's is gone from the store; erin's waits unless retired",
    );
    assert.equal(
      await alicePage.textContent("#users-moved"),
      "3",
      "bob, dave and carol moved; alice and erin kept only their sessions",
    );
    assert.equal(await alicePage.textContent("#users-legacy-only"), "3", "alice, erin and frank (Acme only)");
    assert.equal(await alicePage.textContent("#moved-emailpassword"), "3", "all three moved by password");
    assert.equal(await alicePage.textContent("#moved-thirdparty"), "0", "nobody moved by Acme in this story");
    const progress = alicePage.getByRole("progressbar", { name: /users moved to supertokens/i });
    assert.equal(await progress.getAttribute("value"), "50", "3 of 6 legacy users moved");
    assert.equal(await alicePage.textContent("#users-percent"), "50%");
    const infrastructure = (await alicePage.textContent("main"))!;
    assert.doesNotMatch(infrastructure, new RegExp(escapeRegExp(dataDir)), "no path on disk on the admin page");
    assert.match(infrastructure, /embedded PostgreSQL \(PGlite\) in …\/stm-demo-\w+ \(--data-dir\)/);
    assert.deepEqual(watched.problems(), [], "nothing goes wrong in the console on the admin page");
    await assertStory(alicePage, storySteps.length);
    await storyPicture(alicePage, "progress");
    await checkWidths(alicePage, "11-migration-progress");
  });

  it("(8) restarted with --migration on the same data, it starts switched; bob is still in SuperTokens", async () => {
    const code = await demo!.stop();
    assert.equal(code, 0, demo!.output());
    demo = await startDemoProcess({ migration: true, dataDir });
    const { context, page } = await signInWithNewForm("bob@example.com", "bob-pass-1");
    assert.equal(await page.getAttribute("#served-by", "data-system"), "supertokens");
    assert.equal(await page.textContent("#who-id"), "2");
    assert.equal(await page.getAttribute("#who-account", "data-account"), "supertokens");
    assert.equal(await page.getAttribute('#story [data-step="switch"]', "data-state"), "done");
    assert.equal(await page.locator("#switch-to-supertokens").count(), 0, "nothing to switch");
    await context.close();
  });
});
