/**
 * An HTTP proxy in front of the dev core that can hold back chosen requests: a slow core whose work still
 * completes after the client gave up, which a black hole (startSilentServer) cannot show.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface DelayProxy {
  url: string;
  /** Requests for which `match` is true are forwarded only after `ms`. */
  delay(match: (method: string, path: string) => boolean, ms: number): void;
  /** Resolves when every delayed request has been forwarded and answered. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startDelayProxy(target: string): Promise<DelayProxy> {
  const to = new URL(target);
  let rule: { match: (method: string, path: string) => boolean; ms: number } | undefined;
  const inFlight = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on("data", (c: Buffer) => body.push(c));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0];
      const wait = rule && rule.match(req.method ?? "GET", path) ? rule.ms : 0;
      const done = new Promise<void>((resolve) => {
        setTimeout(() => {
          const upstream = http.request(
            {
              host: to.hostname,
              port: to.port,
              method: req.method,
              path: req.url,
              headers: { ...req.headers, host: to.host },
            },
            (up) => {
              const chunks: Buffer[] = [];
              up.on("data", (c: Buffer) => chunks.push(c));
              up.on("end", () => {
                if (!res.destroyed) {
                  res.writeHead(up.statusCode ?? 502, up.headers);
                  res.end(Buffer.concat(chunks));
                }
                resolve();
              });
            },
          );
          upstream.on("error", () => {
            if (!res.headersSent) res.writeHead(502).end();
            resolve();
          });
          upstream.end(Buffer.concat(body));
        }, wait);
      });
      inFlight.add(done);
      void done.then(() => inFlight.delete(done));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    delay(match, ms) {
      rule = { match, ms };
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
