/** The demo's own small parts: its command line, its escaping, its redirect guard and its data-directory lock. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { displayDataDir, resolveDemoConfig } from "../../demo-app/config.js";
import { lockDataDir } from "../../demo-app/db.js";
import { listen } from "../../demo-app/server.js";
import { escape, html } from "../../demo-app/views/html.js";
import { adminPage } from "../../demo-app/views/pages.js";
import { safeNext } from "../../demo-app/web.js";

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
  ];
  for (const [name, argv, env, message] of bad) {
    it(`refuses ${name}, naming the value`, () => {
      assert.throws(() => resolveDemoConfig(argv, env), message);
    });
  }
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
