import net from "node:net";

/**
 * A TCP proxy in front of a service (here the dev core), to fail it between steps while the service itself, and
 * its in-memory data, lives on. `cut()` drops every connection and refuses new ones until `restore()`.
 * `failNext()` acts on one HTTP request, recognised by its request line at the start of a chunk (enough for the
 * small JSON requests the SDK sends over keep-alive connections):
 *   - "drop": the request never reaches the service (a fault before the step);
 *   - "lose-response": the service handles it, but the answer is lost (a fault after the step).
 * With `thenCut`, the proxy stays cut afterwards (the service "went down" at that point).
 */
export interface TcpProxy {
  url: string;
  port: number;
  cut(): void;
  restore(): void;
  failNext(match: RegExp, mode: "drop" | "lose-response", options?: { thenCut?: boolean }): void;
  /** Request lines seen so far, e.g. "POST /appid-x/recipe/userid/map". */
  requests: string[];
  close(): Promise<void>;
}

const REQUEST_LINE = /^(GET|POST|PUT|DELETE|PATCH) (\S+) HTTP\/1\.1\r\n/;

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let isCut = false;
  let pending: { match: RegExp; mode: "drop" | "lose-response"; thenCut: boolean } | undefined;
  const requests: string[] = [];

  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  };
  const cutAll = () => {
    isCut = true;
    for (const s of sockets) s.destroy();
  };

  const server = net.createServer((client) => {
    track(client);
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    let loseResponse: { thenCut: boolean } | undefined;
    client.on("data", (chunk) => {
      const line = REQUEST_LINE.exec(chunk.toString("latin1", 0, Math.min(chunk.length, 2048)));
      if (line) {
        const request = `${line[1]} ${line[2].split("?")[0]}`;
        requests.push(request);
        if (pending && pending.match.test(request)) {
          const { mode, thenCut } = pending;
          pending = undefined;
          if (mode === "drop") {
            client.destroy();
            upstream.destroy();
            if (thenCut) cutAll();
            return;
          }
          loseResponse = { thenCut };
        }
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (loseResponse) {
        const { thenCut } = loseResponse;
        loseResponse = undefined;
        client.destroy();
        upstream.destroy();
        if (thenCut) cutAll();
        return;
      }
      client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    cut: cutAll,
    restore() {
      isCut = false;
    },
    failNext(match, mode, options = {}) {
      pending = { match, mode, thenCut: options.thenCut ?? false };
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
