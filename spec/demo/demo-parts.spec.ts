/** The demo's own small parts: its command line, its escaping, its redirect guard and its data-directory lock. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { displayDataDir, resolveDemoConfig } from "../../demo-app/config.js";
import { lockDataDir } from "../../demo-app/db.js";
import { listen, switchHandler } from "../../demo-app/server.js";
import { Story, storySteps } from "../../demo-app/story.js";
import { escape, html } from "../../demo-app/views/html.js";
import { adminPage, homePage } from "../../demo-app/views/pages.js";
import { safeNext } from "../../demo-app/web.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("demo command line", () => {
  it("defaults to the legacy app on 127.0.0.1:3000 with every embedded default", () => {
    const cfg = resolveDemoConfig([], {});
    assert.equal(cfg.migration, false);
    assert.equal(cfg.port, 3000);
    assert.equal(cfg.host, "127.0.0.1");
    assert.match(cfg.dataDir, /demo-app[/\\]data$/);
    assert.equal(cfg.databaseUrl, undefined);
    assert.equal(cfg.redisUrl, undefined);
    assert.equal(cfg.connectionUri, undefined);
    assert.equal(cfg.coreSchema, "supertokens");
  });

  const switches: Array<[string, string[], NodeJS.ProcessEnv, boolean]> = [
    ["--migration", ["--migration"], {}, true],
    ["MIGRATION=on", [], { MIGRATION: "on" }, true],
    ["MIGRATION=off", [], { MIGRATION: "off" }, false],
    ["--legacy over MIGRATION=on", ["--legacy"], { MIGRATION: "on" }, false],
    ["--migration over MIGRATION=off", ["--migration"], { MIGRATION: "off" }, true],
  ];
  for (const [name, argv, env, expected] of switches) {
    it(`turns the migration ${expected ? "on" : "off"} with ${name}`, () => {
      assert.equal(resolveDemoConfig(argv, env).migration, expected);
    });
  }

  it("takes the services from the environment", () => {
    const cfg = resolveDemoConfig(["--port", "0", "--access-token-validity", "2"], {
      DATABASE_URL: "postgresql://u:p@db/app",
      REDIS_URL: "redis://r:6379",
      DEMO_SCHEMA: "notes",
      SUPERTOKENS_CONNECTION_URI: "http://core:3567",
      SUPERTOKENS_API_KEY: "k".repeat(20),
    });
    assert.equal(cfg.port, 0);
    assert.equal(cfg.accessTokenValidity, 2);
    assert.equal(cfg.databaseUrl, "postgresql://u:p@db/app");
    assert.equal(cfg.redisUrl, "redis://r:6379");
    assert.equal(cfg.schema, "notes");
    assert.equal(cfg.coreSchema, "notes_supertokens");
    assert.equal(cfg.connectionUri, "http://core:3567");
  });

  const bad: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ["contradicting flags", ["--migration", "--legacy"], {}, /contradict/],
    [
      "a MIGRATION that is neither on nor off",
      [],
      { MIGRATION: "maybe" },
      /MIGRATION must be "on" or "off"; received "maybe"/,
    ],
    ["a port that is not a number", [], { PORT: "http" }, /PORT must be an integer >= 0; received "http"/],
    ["a zero token validity", ["--access-token-validity", "0"], {}, /access-token-validity.*>= 1/],
    ["an unknown flag", ["--migrate"], {}, /Unknown option '--migrate'/],
    ["--no-switch with --migration", ["--migration", "--no-switch"], {}, /--no-switch is for the old app/],
  ];
  for (const [name, argv, env, message] of bad) {
    it(`refuses ${name}, naming the value`, () => {
      assert.throws(() => resolveDemoConfig(argv, env), message);
    });
  }
});

describe("demo switch option", () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, { migration: boolean; switchable: boolean }]> = [
    ["no flag", [], {}, { migration: false, switchable: true }],
    ["--legacy", ["--legacy"], {}, { migration: false, switchable: true }],
    ["MIGRATION=off", [], { MIGRATION: "off" }, { migration: false, switchable: true }],
    ["--no-switch", ["--no-switch"], {}, { migration: false, switchable: false }],
    ["--legacy --no-switch", ["--legacy", "--no-switch"], {}, { migration: false, switchable: false }],
    ["--migration", ["--migration"], {}, { migration: true, switchable: false }],
    ["MIGRATION=on", [], { MIGRATION: "on" }, { migration: true, switchable: false }],
  ];
  for (const [name, argv, env, expected] of cases) {
    const onOff = (v: boolean) => (v ? "on" : "off");
    it(`with ${name}: migration ${onOff(expected.migration)}, switch ${onOff(expected.switchable)}`, () => {
      const { migration, switchable } = resolveDemoConfig(argv, env);
      assert.deepEqual({ migration, switchable }, expected);
    });
  }

  it("npm run demo starts on the old system with the switch; npm run demo:legacy without it", async () => {
    const { scripts } = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const argsOf = (script: string) => {
      const words = script.split(/\s+/);
      assert.deepEqual(words.slice(0, 4), ["node", "--import", "tsx", "demo-app/main.ts"], script);
      return words.slice(4);
    };
    const demo = resolveDemoConfig(argsOf(scripts.demo), {});
    assert.deepEqual([demo.migration, demo.switchable], [false, true], scripts.demo);
    const legacy = resolveDemoConfig(argsOf(scripts["demo:legacy"]), {});
    assert.deepEqual([legacy.migration, legacy.switchable], [false, false], scripts["demo:legacy"]);
  });
});

describe("demo story", () => {
  it("starts on the old system with nothing done, and ticks each step once", () => {
    const lines: string[] = [];
    const story = new Story("legacy", true, (line) => lines.push(line));
    assert.equal(story.system, "legacy");
    assert.deepEqual([...story.view("/").done], []);
    assert.equal(story.view("/").canSwitch, true);
    story.mark("legacy-sign-in");
    story.mark("legacy-sign-in");
    assert.deepEqual(lines, ["story: step 1 of 7 done (Sign in on the old system)"]);
    story.switched();
    assert.equal(story.system, "supertokens");
    const view = story.view("/notes");
    assert.deepEqual([...view.done], ["legacy-sign-in", "switch"]);
    assert.equal(view.canSwitch, false, "switched for good");
    assert.equal(view.path, "/notes");
  });

  it("started with --migration, the switch is done; a conversion proves a legacy sign-in happened", () => {
    const story = new Story("supertokens", false);
    assert.deepEqual([...story.view("/").done], ["switch"]);
    story.mark("still-signed-in");
    assert.ok(story.isDone("legacy-sign-in"));
    assert.equal(story.view("/").restartToSwitch, false);
  });

  it("a view is a snapshot: later steps do not change a page already drawn", () => {
    const story = new Story("legacy", true);
    const before = story.view("/");
    story.mark("legacy-sign-in");
    assert.equal(before.done.has("legacy-sign-in"), false);
  });

  it("has seven steps with unique ids that make file names", () => {
    assert.equal(storySteps.length, 7);
    assert.equal(new Set(storySteps.map((s) => s.id)).size, storySteps.length);
    for (const step of storySteps) assert.match(step.id, /^[a-z]+(-[a-z]+)*$/);
  });
});

describe("demo guide on the page", () => {
  const page = (story: Story, path = "/notes") =>
    homePage({ system: story.system, story: story.view(path), user: { id: "1", email: "alice@example.com" } });

  it("on the old system: the switch posts to /demo/switch and comes back to this page", () => {
    const story = new Story("legacy", true);
    story.mark("legacy-sign-in");
    const out = page(story, "/login?next=/notes");
    assert.match(
      out,
      /<form method="post" action="\/demo\/switch\?next=%2Flogin%3Fnext%3D%2Fnotes" class="story-switch">/,
    );
    assert.match(out, /<button type="submit" id="switch-to-supertokens" class="next">\s*Switch to SuperTokens/);
    assert.match(out, /data-step="legacy-sign-in"\s+data-state="done"/);
    assert.match(out, /data-step="switch"\s+data-state="current"\s+aria-current="step"/);
    assert.match(out, /Step 2 of 7: Switch to SuperTokens\./);
  });

  it("started with --no-switch: no button, and the hint names the restart that switches", () => {
    const story = new Story("legacy", false);
    story.mark("legacy-sign-in");
    const out = page(story);
    assert.doesNotMatch(out, /switch-to-supertokens|\/demo\/switch/);
    assert.match(out, /<code>npm run demo -- --migration<\/code>/);
  });

  it("after the switch: no button; with every step done, the story is complete", () => {
    const story = new Story("legacy", true);
    story.switched();
    for (const step of storySteps) story.mark(step.id);
    const out = page(story);
    assert.doesNotMatch(out, /switch-to-supertokens/);
    assert.equal(out.match(/data-state="done"/g)?.length, storySteps.length);
    assert.match(out, /That is the whole story\./);
  });

  it("pages without a guide (an error page) keep the badge of the system that served them", () => {
    const out = homePage({ system: "supertokens" });
    assert.doesNotMatch(out, /id="story"/);
    assert.match(out, /<div class="system"><span class="badge supertokens" id="served-by"/);
  });
});

describe("demo switch endpoint", () => {
  /** The switch handler alone on a real HTTP server, with a migrated app that fails `failures` times first. */
  async function serveSwitch(options: { switchable?: boolean; failures?: number; slowMs?: number } = {}) {
    const story = new Story("legacy", options.switchable ?? true);
    const logs: string[] = [];
    let starts = 0;
    let failures = options.failures ?? 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handler = switchHandler({
      story,
      switchable: options.switchable ?? true,
      log: (line) => logs.push(line),
      startMigrated: async () => {
        starts++;
        if (options.slowMs !== undefined) await gate;
        if (failures-- > 0) throw new Error("core did not start");
      },
    });
    let received = 0;
    const server = createServer((req, res) => {
      received++;
      handler(req, res);
    });
    await listen(server, 0, "127.0.0.1");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (query = "?next=/notes", headers: Record<string, string> = {}) =>
      fetch(`${url}/demo/switch${query}`, { method: "POST", headers, redirect: "manual" });
    return {
      story,
      logs,
      post,
      url,
      starts: () => starts,
      received: () => received,
      release,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it("switches once on a same-origin post and sends the browser back to its page", async () => {
    const s = await serveSwitch();
    try {
      const res = await s.post("?next=/notes", { "sec-fetch-site": "same-origin", origin: s.url });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get("location"), "/notes");
      assert.equal(s.story.system, "supertokens");
      assert.ok(s.story.isDone("switch"));
      const again = await s.post("?next=/admin", { "sec-fetch-site": "same-origin" });
      assert.equal(again.status, 303);
      assert.equal(again.headers.get("location"), "/admin");
      assert.equal(s.starts(), 1, "the migrated app is started once");
    } finally {
      await s.close();
    }
  });

  it("starts the migrated app once for posts that arrive together", async () => {
    const s = await serveSwitch({ slowMs: 0 });
    try {
      const both = Promise.all([s.post(), s.post()]);
      // Both posts are in the handler before the start finishes: the second waits on the first's start.
      while (s.received() < 2) await new Promise((resolve) => setImmediate(resolve));
      s.release();
      const statuses = (await both).map((r) => r.status);
      assert.deepEqual(statuses, [303, 303]);
      assert.equal(s.starts(), 1);
    } finally {
      await s.close();
    }
  });

  const refused: Array<[string, Record<string, string>]> = [
    ["a cross-site form", { "sec-fetch-site": "cross-site", origin: "http://evil.example" }],
    ["a same-site page of another port", { "sec-fetch-site": "same-site", origin: "http://127.0.0.1:1" }],
    ["an Origin of another host without Sec-Fetch-Site", { origin: "http://evil.example" }],
    ["a null Origin", { origin: "null" }],
  ];
  for (const [name, headers] of refused) {
    it(`refuses ${name} with 403 and stays on the old system`, async () => {
      const s = await serveSwitch();
      try {
        const res = await s.post("?next=/notes", headers);
        assert.equal(res.status, 403);
        assert.match(await res.text(), /only works from the demo&#39;s own pages/);
        assert.equal(s.story.system, "legacy");
        assert.equal(s.starts(), 0);
        assert.match(s.logs.join("\n"), /refused a switch from another site/);
      } finally {
        await s.close();
      }
    });
  }

  it("answers a GET with 405 and Allow: POST", async () => {
    const s = await serveSwitch();
    try {
      const res = await fetch(`${s.url}/demo/switch`, { redirect: "manual" });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "POST");
      assert.equal(s.story.system, "legacy");
    } finally {
      await s.close();
    }
  });

  it("sends ?next= that leads off the site to /notes", async () => {
    const s = await serveSwitch();
    try {
      const res = await s.post(`?next=${encodeURIComponent("//evil.example/")}`);
      assert.equal(res.headers.get("location"), "/notes");
    } finally {
      await s.close();
    }
  });

  it("started with --no-switch: 409 naming the restart with --migration", async () => {
    const s = await serveSwitch({ switchable: false });
    try {
      const res = await s.post();
      assert.equal(res.status, 409);
      assert.match(await res.text(), /npm run demo -- --migration/);
      assert.equal(s.starts(), 0);
    } finally {
      await s.close();
    }
  });

  it("a failed start answers 503 with Retry-After, stays on the old system, and can be tried again", async () => {
    const s = await serveSwitch({ failures: 1 });
    try {
      const failed = await s.post();
      assert.equal(failed.status, 503);
      assert.equal(failed.headers.get("retry-after"), "5");
      assert.equal(s.story.system, "legacy");
      assert.match(s.logs.join("\n"), /the switch to SuperTokens failed: core did not start; still on the old system/);
      const retried = await s.post();
      assert.equal(retried.status, 303);
      assert.equal(s.story.system, "supertokens");
      assert.equal(s.starts(), 2);
    } finally {
      await s.close();
    }
  });
});

describe("demo start-up messages", () => {
  it("names a port in use and the --port option that avoids it", async () => {
    const first = createServer();
    await listen(first, 0, "127.0.0.1");
    const { port } = first.address() as AddressInfo;
    const second = createServer();
    try {
      await assert.rejects(
        listen(second, port, "127.0.0.1"),
        new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port N`),
      );
      assert.ok(resolveDemoConfig(["--port", String(port + 1)], {}).port === port + 1, "the option exists");
    } finally {
      second.close();
      await new Promise((resolve) => first.close(resolve));
    }
  });

  const dirs: Array<[string, string, string]> = [
    ["the default", path.join("/home/someone/project", "demo-app", "data"), "demo-app/data"],
    ["another one inside the project", path.join("/home/someone/project", "tmp", "d"), "tmp/d"],
    ["one outside the project", path.join("/tmp", "stm-demo-x1"), "…/stm-demo-x1 (--data-dir)"],
    ["a sibling whose name starts with ..", path.join("/home/someone/project", "..data"), "..data"],
  ];
  for (const [name, dir, shown] of dirs) {
    it(`shows ${name} data directory without its path on disk`, () => {
      assert.equal(displayDataDir(dir, "/home/someone/project"), shown);
    });
  }

  it("labels the admin page's progress bar, with its value", () => {
    const page = adminPage(
      { system: "supertokens" },
      { users: { moved: 1, legacyOnly: 3, total: 4, superTokensUsers: 2 }, database: "db", sessionStore: "store" },
    );
    assert.match(
      page,
      /<label for="users-progress"[^>]*>\s*Users moved to SuperTokens: <strong id="users-percent">25%/,
    );
    assert.match(page, /<progress id="users-progress" class="progress" max="100" value="25">/);
    assert.doesNotMatch(page, /moved-by-method/, "no per-method table without the counts");
  });

  it("counts the moved users per login method and provider, saying a linked user counts under each", () => {
    const page = adminPage(
      { system: "supertokens" },
      {
        users: {
          moved: 3,
          legacyOnly: 3,
          total: 6,
          superTokensUsers: 4,
          byLoginMethod: { emailpassword: 2, thirdparty: 2, passwordless: 0 },
          byThirdPartyProvider: { "<acme>": 2, github: 1 },
        },
        database: "db",
        sessionStore: "store",
      },
    );
    assert.match(page, /<td id="moved-emailpassword">2<\/td>/);
    assert.match(page, /<td id="moved-thirdparty">2<\/td>/);
    assert.match(page, /<td id="moved-passwordless">0<\/td>/);
    assert.match(
      page,
      /<th>Third-party: &lt;acme&gt;<\/th>\s*<td class="provider-count" data-provider="&lt;acme&gt;">2</,
    );
    assert.match(page, /data-provider="github">1</);
    assert.match(page, /counts under each/);
  });
});

describe("demo views", () => {
  it("escapes what is interpolated, and only that", () => {
    assert.equal(
      escape(`<script>alert("x")</script>&'`),
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;",
    );
    const note = `<img src=x onerror=alert(1)>`;
    assert.equal(html`<li>${note}</li>`.value, "<li>&lt;img src=x onerror=alert(1)&gt;</li>");
    assert.equal(html`<ul>${[html`<li>a</li>`, "<b>"]}</ul>`.value, "<ul><li>a</li>&lt;b&gt;</ul>");
    assert.equal(html`${undefined}${null}${false}${0}`.value, "0");
  });

  const nexts: Array<[unknown, string]> = [
    ["/notes", "/notes"],
    ["/admin?x=1", "/admin?x=1"],
    ["//evil.example/", "/notes"],
    ["/\\evil.example", "/notes"],
    ["https://evil.example/", "/notes"],
    ["javascript:alert(1)", "/notes"],
    [undefined, "/notes"],
    [["/a", "/b"], "/notes"],
  ];
  for (const [input, expected] of nexts) {
    it(`sends ?next=${JSON.stringify(input)} to ${expected}`, () => {
      assert.equal(safeNext(input), expected);
    });
  }
});

describe("demo data-directory lock", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "stm-demo-lock-"));
    dirs.push(dir);
    return dir;
  };

  it("refuses a second process while the first holds the directory, and frees it on release", async () => {
    const dir = await tempDir();
    const release = await lockDataDir(dir);
    assert.equal(await readFile(path.join(dir, "demo.lock"), "utf8"), String(process.pid));
    await assert.rejects(lockDataDir(dir), new RegExp(`another demo \\(pid ${process.pid}\\) is using`));
    await release();
    const again = await lockDataDir(dir);
    await again();
  });

  it("takes over a lock left by a process that died", async () => {
    const dir = await tempDir();
    // A pid that surely exited: a child that has already finished.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    await writeFile(path.join(dir, "demo.lock"), dead);
    const release = await lockDataDir(dir);
    assert.equal(await readFile(path.join(dir, "demo.lock"), "utf8"), String(process.pid));
    await release();
  });
});
