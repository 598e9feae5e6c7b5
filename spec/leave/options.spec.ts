// leaveSuperTokens() checks its options once, when it is called (lib/leave/options.ts): before, it only checked
// that the two hooks were functions, so a typo'd or mistyped timeout ran silently with the default or with NaN.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { ConfigError } from "../../lib/errors.js";
import { leaveSuperTokens } from "../../lib/leave/index.js";
import { LEAVE_SUPERTOKENS_DEFAULTS, resolveLeaveOptions } from "../../lib/leave/options.js";

const hooks = { hasSession: () => false, createSession: async () => {} };

function throwsCode(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("leaveSuperTokens options", () => {
  it("returns the defaults, from one frozen object", () => {
    assert.ok(Object.isFrozen(LEAVE_SUPERTOKENS_DEFAULTS));
    assert.deepEqual(resolveLeaveOptions(hooks), { timeoutMs: 5000, retryAfterSeconds: 1, graceMs: 30_000 });
    assert.deepEqual(resolveLeaveOptions({ ...hooks, timeoutMs: 100, retryAfterSeconds: 2, graceMs: 50 }), {
      timeoutMs: 100,
      retryAfterSeconds: 2,
      graceMs: 50,
    });
  });

  it("refuses an unknown key, naming the closest", () => {
    throwsCode(
      () => leaveSuperTokens({ ...hooks, onConvert: () => {} } as never),
      "ERR_MIGRATE_UNKNOWN_OPTION",
      /unknown option `onConvert`\. Did you mean `onConverted`\?/,
    );
  });

  it("requires both hooks as functions", () => {
    throwsCode(
      () => leaveSuperTokens(undefined as never),
      "ERR_MIGRATE_MISSING_OPTION",
      /options must be an object with at least `hasSession` and `createSession`/,
    );
    throwsCode(
      () => leaveSuperTokens({ createSession: hooks.createSession } as never),
      "ERR_MIGRATE_MISSING_OPTION",
      /`hasSession` is required/,
    );
    throwsCode(
      () => leaveSuperTokens({ hasSession: hooks.hasSession } as never),
      "ERR_MIGRATE_MISSING_OPTION",
      /`createSession` is required/,
    );
    throwsCode(
      () => leaveSuperTokens({ ...hooks, hasSession: true } as never),
      "ERR_MIGRATE_INVALID_OPTION",
      /`hasSession` must be a function; received true/,
    );
    throwsCode(
      () => leaveSuperTokens({ ...hooks, onConverted: "log" } as never),
      "ERR_MIGRATE_INVALID_OPTION",
      /`onConverted` must be a function/,
    );
  });

  it("refuses timeouts that are not positive numbers", () => {
    for (const name of ["timeoutMs", "retryAfterSeconds", "graceMs"] as const) {
      for (const bad of [0, -5, Number.NaN, "1000"]) {
        throwsCode(
          () => leaveSuperTokens({ ...hooks, [name]: bad }),
          "ERR_MIGRATE_INVALID_OPTION",
          new RegExp(`\`${name}\` must be a positive number`),
        );
      }
    }
  });

  it("fails loudly when mounted uncalled, app.use(leaveSuperTokens)", () => {
    const req = new IncomingMessage(new Socket());
    req.method = "GET";
    throwsCode(
      () => (leaveSuperTokens as (...args: unknown[]) => unknown)(req, new ServerResponse(req), () => {}),
      "ERR_MIGRATE_FACTORY_NOT_CALLED",
      /call leaveSuperTokens\(\{ hasSession, createSession \}\) — you passed the factory itself/,
    );
  });

  it("calls the hooks on the options object, as before (methods may use `this`)", async () => {
    const calls: unknown[] = [];
    class Hooks {
      hasSession() {
        calls.push(this);
        return true;
      }
      async createSession() {}
    }
    const options = new Hooks();
    const mw = leaveSuperTokens(options);
    let nexted = false;
    await mw({}, {}, () => {
      nexted = true;
    });
    assert.equal(nexted, true);
    assert.deepEqual(calls, [options]);
    assert.equal(calls[0], options);
  });
});
