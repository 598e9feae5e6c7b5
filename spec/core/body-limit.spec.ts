/**
 * Issue 11, item 10: a request body over the dev core's limit (10 MiB) is answered 413 with a plain-text message,
 * in the core's style, and the keep-alive connection stays usable for the next request.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { Socket } from "node:net";
import { startDevCore, type DevCore } from "../../lib/core/index.js";

const LIMIT = 10 * 1024 * 1024;

let core: DevCore;
let agent: http.Agent;
before(async () => {
  core = await startDevCore();
});
after(async () => {
  agent?.destroy();
  await core.close();
});

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  socket: Socket;
  reusedSocket: boolean;
}

/** One request over `agent` (one keep-alive socket), body written in 64 KiB chunks; `chunked` omits Content-Length. */
function send(
  method: string,
  path: string,
  body: Buffer | undefined,
  options: { chunked?: boolean } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/json" };
    if (body && !options.chunked) headers["content-length"] = body.length;
    const req = http.request({ host: "127.0.0.1", port: core.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
          socket: req.socket!,
          reusedSocket: req.reusedSocket,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body) {
      for (let i = 0; i < body.length; i += 65536) req.write(body.subarray(i, i + 65536));
    }
    req.end();
  });
}

/** A JSON object just over the limit. */
const oversized = () => Buffer.from(JSON.stringify({ email: "a@example.com", password: "x".repeat(LIMIT) }));

describe("dev core: a request body over the limit", () => {
  it("answers 413 with a message, with Content-Length, and keeps the connection usable", async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await send("GET", "/hello", undefined);
    assert.equal(first.status, 200);
    const tooLarge = await send("POST", "/public/recipe/signup", oversized());
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.headers["content-type"] ?? "", /^text\/html/);
    assert.equal(tooLarge.text, `Request body too large: the limit is ${LIMIT} bytes\n`);
    assert.equal(tooLarge.headers["content-length"], String(Buffer.byteLength(tooLarge.text)));
    assert.notEqual(tooLarge.headers.connection, "close");
    assert.equal(tooLarge.socket, first.socket, "answered on the same connection");
    const next = await send(
      "POST",
      "/public/recipe/signup",
      Buffer.from(JSON.stringify({ email: "after@example.com", password: "password1" })),
    );
    assert.equal(next.status, 200, next.text);
    assert.equal(JSON.parse(next.text).status, "OK");
    assert.equal(next.reusedSocket, true, "the connection survived the oversized request");
    assert.equal(next.socket, first.socket);
  });

  it("does the same for a chunked body with no Content-Length", async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await send("GET", "/hello", undefined);
    const tooLarge = await send("POST", "/public/recipe/signin", oversized(), { chunked: true });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.text, `Request body too large: the limit is ${LIMIT} bytes\n`);
    const next = await send("GET", "/hello", undefined);
    assert.equal(next.status, 200);
    assert.equal(next.text, "Hello");
    assert.equal(next.reusedSocket, true);
    assert.equal(next.socket, first.socket);
  });

  it("still accepts a body just under the limit", async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = Buffer.from(JSON.stringify({ email: "under@example.com", password: "x".repeat(LIMIT - 100) }));
    assert.ok(body.length <= LIMIT);
    const res = await send("POST", "/public/recipe/signup", body);
    assert.equal(res.status, 200, res.text.slice(0, 200));
  });
});
