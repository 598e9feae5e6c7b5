import net from "node:net";
import { randomBytes } from "node:crypto";

/**
 * The URL of a service the suite needs. Missing means the environment is broken, which must fail the run
 * (a skipped store test would hide a regression), so this throws.
 */
export function requireEnv(name: "REDIS_URL" | "DATABASE_URL"): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${name} is not set. Run the specs with \`npm test\` (add \`-- <spec files>\` for some of them): it starts ` +
        `throwaway ` +
        `Redis and PostgreSQL servers and sets REDIS_URL and DATABASE_URL, or says what to install (Debian: ` +
        `apt-get install redis-server postgresql chromium). Or export ${name} to point at a running server, or run ` +
        `\`bash .ci/run\`.`,
    );
  }
  return value;
}

/** A short random suffix for per-test Redis prefixes, schemas and table names. */
export function uniqueId(): string {
  return randomBytes(6).toString("hex");
}

/**
 * A TCP server that accepts connections and never answers: a black-holed Redis or PostgreSQL. Clients
 * pointed at it hang, which is the failure deadlines exist for.
 */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then released). Connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
