/**
 * A real Redis Cluster of our own: 3 masters and 3 replicas on free loopback ports (and their bus ports, +10000),
 * made with `redis-cli --cluster create`. No persistence; each node's data and nodes.conf live in one temporary
 * directory. `stop()` kills every node and deletes the directory; the nodes are also killed if the test process
 * exits without calling it, so none outlives the run.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  url: string;
}

export interface OwnRedisCluster {
  nodes: ClusterNode[];
  /** For node-redis' createCluster({ rootNodes }). */
  rootNodes: { url: string }[];
  /** `redis-cli -p port args...`, trimmed output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The ports of the current masters and of their replicas, from CLUSTER NODES. */
  topology(): Promise<{ masters: number[]; replicas: { port: number; masterPort: number }[] }>;
  /**
   * A planned failover: `CLUSTER FAILOVER` on a replica of `masterPort`; resolves once that replica is a master
   * and every live node reports cluster_state:ok. Returns the promoted replica's port.
   */
  failover(masterPort: number): Promise<number>;
  /** SIGKILL one node (a crash). */
  kill(port: number): Promise<void>;
  /** Resolves once every live node reports cluster_state:ok and `check` holds, or rejects after `ms`. */
  settled(ms?: number, check?: () => Promise<boolean>): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill("SIGKILL");
};
process.on("exit", killAll);
// The test runner stops a spec's process with a signal, which skips "exit" handlers: take the nodes down too.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === "SIGTERM" ? 15 : 2));
  });
}

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function freePortPair(taken: Set<number>): Promise<number> {
  const canListen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000) || taken.has(port - 10_000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

function startNode(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      `nodes-${port}.conf`,
      "--cluster-node-timeout",
      "1500",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dbfilename",
      `dump-${port}.rdb`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  live.add(child);
  child.once("exit", () => live.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve(child);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.resume();
    child.once("exit", (code) =>
      reject(new Error(`redis-server :${port} exited (${code}) before it was ready:\n${out}`)),
    );
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startRedisCluster(): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), "stm-redis-cluster-"));
  const children = new Map<number, ChildProcess>();
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    children.clear();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < 6; i++) ports.push(await freePortPair(taken));
    for (const port of ports) children.set(port, await startNode(port, dir));

    const cli = async (port: number, ...args: string[]) =>
      (await run("redis-cli", ["-p", String(port), ...args], { timeout: 30_000 })).stdout.trim();

    await run(
      "redis-cli",
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
      { timeout: 60_000 },
    );

    const alive = () => ports.filter((p) => children.get(p)?.exitCode === null && !children.get(p)?.signalCode);
    // Each node's own ROLE: CLUSTER NODES as one node sees it lags behind a failover.
    const topology = async () => {
      const roles = await Promise.all(
        alive().map(async (port) => ({ port, role: (await cli(port, "role")).split("\n") })),
      );
      return {
        masters: roles.filter((r) => r.role[0] === "master").map((r) => r.port),
        replicas: roles
          .filter((r) => r.role[0] === "slave")
          .map((r) => ({ port: r.port, masterPort: Number(r.role[2]) })),
      };
    };
    const settled = async (ms = 30_000, check: () => Promise<boolean> = async () => true) => {
      const end = Date.now() + ms;
      for (;;) {
        const states = await Promise.all(alive().map((p) => cli(p, "cluster", "info").catch(() => "")));
        if (states.every((s) => s.includes("cluster_state:ok")) && (await check().catch(() => false))) return;
        if (Date.now() > end) throw new Error(`Redis Cluster not settled within ${ms} ms: ${states.join(" | ")}`);
        await pause(100);
      }
    };
    // Every node must know the whole topology (3 masters, 3 replicas) before a client asks it for slots.
    await settled(60_000, async () => {
      const t = await topology();
      return t.masters.length === 3 && t.replicas.length === 3;
    });

    return {
      nodes: ports.map((port) => ({ port, url: `redis://127.0.0.1:${port}` })),
      rootNodes: ports.slice(0, 3).map((port) => ({ url: `redis://127.0.0.1:${port}` })),
      cli,
      topology,
      async failover(masterPort) {
        const replica = (await topology()).replicas.find((r) => r.masterPort === masterPort);
        if (!replica) throw new Error(`no replica of :${masterPort}`);
        await cli(replica.port, "cluster", "failover");
        await settled(30_000, async () => {
          const t = await topology();
          return t.masters.includes(replica.port) && t.replicas.some((r) => r.port === masterPort);
        });
        return replica.port;
      },
      async kill(port) {
        const child = children.get(port);
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        });
      },
      settled,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface OwnRedisSentinel {
  /** For node-redis' createSentinel({ name, sentinelRootNodes }). */
  name: string;
  sentinelRootNodes: { host: string; port: number }[];
  /** The port Sentinel currently names as master. */
  master(): Promise<number>;
  /** `SENTINEL FAILOVER`: resolves once the replica is master and the old master replicates from it. */
  failover(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One master, one replica and one Sentinel (quorum 1) on free loopback ports, with `redis-server --sentinel`
 * (what the redis-sentinel binary is). Same clean-up as the cluster.
 */
export async function startRedisSentinel(): Promise<OwnRedisSentinel> {
  const dir = await mkdtemp(path.join(tmpdir(), "stm-redis-sentinel-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    children.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  const name = "stm-test-master";
  try {
    const taken = new Set<number>();
    const [masterPort, replicaPort, sentinelPort] = [
      await freePortPair(taken),
      await freePortPair(taken),
      await freePortPair(taken),
    ];
    const start = (args: string[], port: number) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
        children.push(child);
        live.add(child);
        child.once("exit", () => live.delete(child));
        let out = "";
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          if (/Ready to accept connections|Sentinel ID is/.test(out)) {
            child.stdout.off("data", onData);
            child.stdout.resume();
            resolve();
          }
        };
        child.stdout.on("data", onData);
        child.stderr.resume();
        child.once("exit", (code) => reject(new Error(`redis-server :${port} exited (${code}):\n${out}`)));
      });
    const node = (port: number, extra: string[] = []) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dbfilename",
      `dump-${port}.rdb`,
      ...extra,
    ];
    await start(node(masterPort), masterPort);
    await start(node(replicaPort, ["--replicaof", "127.0.0.1", String(masterPort)]), replicaPort);
    const conf = path.join(dir, "sentinel.conf");
    await writeFile(
      conf,
      [
        `port ${sentinelPort}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 10000`,
        "",
      ].join("\n"),
    );
    await start([conf, "--sentinel"], sentinelPort);

    const cli = async (port: number, ...args: string[]) =>
      (await run("redis-cli", ["-p", String(port), ...args], { timeout: 30_000 })).stdout.trim();
    const until = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!(await check().catch(() => false))) {
        if (Date.now() > end) throw new Error(`Sentinel setup: ${what} not reached within ${ms} ms`);
        await pause(100);
      }
    };
    const master = async () =>
      Number((await cli(sentinelPort, "sentinel", "get-master-addr-by-name", name)).split("\n")[1]);
    const replicaOf = async (port: number, of: number) => {
      const role = (await cli(port, "role")).split("\n");
      return role[0] === "slave" && Number(role[2]) === of && role[3] === "connected";
    };
    // The replica is in sync and Sentinel knows it: a failover can pick it.
    await until("replica known to Sentinel", async () => {
      const replicas = await cli(sentinelPort, "sentinel", "replicas", name);
      return (await replicaOf(replicaPort, masterPort)) && replicas.includes(String(replicaPort));
    });

    return {
      name,
      sentinelRootNodes: [{ host: "127.0.0.1", port: sentinelPort }],
      master,
      async failover() {
        const from = await master();
        const to = from === masterPort ? replicaPort : masterPort;
        await cli(sentinelPort, "sentinel", "failover", name);
        await until("failover", async () => (await master()) === to && (await replicaOf(from, to)));
        return to;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
