// The least any one-process node:http server must do per session create: read and parse the JSON body, sign an
// access-token-sized input with RS256, answer JSON. No routing, storage or refresh token. Its rate on the same
// core is the ceiling for the dev core's creates, so the bench can tell dev-core overhead from the cost of
// HTTP itself. Prints `listening on <url>`; stops on SIGTERM.
import { generateKeyPairSync, sign } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { accessTokenSigningInput } from "./token-shape.js";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const input = accessTokenSigningInput();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { userId?: unknown };
    const token = `${input.toString()}.${sign("sha256", input, privateKey).toString("base64url")}`;
    const payload = JSON.stringify({ status: "OK", accessToken: { token }, userId: body.userId });
    res.writeHead(200, {
      "content-type": "application/json; charset=UTF-8",
      "content-length": Buffer.byteLength(payload),
    });
    res.end(payload);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`),
);
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
