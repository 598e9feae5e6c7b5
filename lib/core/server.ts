import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { log } from "../debug.js";
import { normaliseConfigFragment, resolveConfig, type CoreConfig } from "./config.js";
import { resolveDevCoreOptions } from "./options.js";
import {
  idPattern,
  reservedTenantIds,
  supportedCdiVersions,
  type AppContext,
  type CoreHandle,
  type Route,
  type RouteContext,
  type RouteResult,
} from "./context.js";
import { CoreHttpError, publicTenantOnly, tenantNotFound, type Json } from "./http.js";
import { KeyRing } from "./keys.js";
import { routes as allRoutes } from "./routes/index.js";
import { MemoryStorage } from "./storage/memory.js";
import type { CoreStorage } from "./storage/types.js";

const debug = log.extend("core");

/** Endpoint families of the real core that the dev core does not implement: they answer 501, never an empty 200. */
const notImplemented = [
  "/recipe/totp",
  "/recipe/webauthn",
  "/recipe/oauth",
  "/recipe/dashboard",
  "/recipe/mfa",
  "/recipe/thirdparty",
  "/recipe/jwt/jwks",
  "/ee",
  "/recipe/multitenancy/connectionuridomain",
  "/recipe/user/password/reset",
  "/users/search",
  "/recipe/saml",
];

export interface DevCoreOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** API keys every app accepts unless its own coreConfig sets `api_keys`. Default: none, no check. */
  apiKeys?: string[];
  /** Base core config (the real core's config.yaml), e.g. `{ access_token_validity: 60 }`. */
  config?: Record<string, unknown>;
  /** Where data lives. Default: a fresh in-memory store, lost when the process exits. */
  storage?: CoreStorage;
  /** Called for every request before it is handled, e.g. to count JWKS fetches in a test. */
  onRequest?: (info: { method: string; path: string; headers: IncomingMessage["headers"] }) => void;
}

export interface DevCore {
  /** `http://host:port`: pass it as supertokens-node's `connectionURI`. */
  url: string;
  port: number;
  storage: CoreStorage;
  close(): Promise<void>;
}

interface RouteTable {
  byPath: Map<string, Route[]>;
}

function buildTable(list: Route[]): RouteTable {
  const byPath = new Map<string, Route[]>();
  for (const r of list) {
    const key = r.path.toLowerCase();
    byPath.set(key, [...(byPath.get(key) ?? []), r]);
  }
  return { byPath };
}

export class DevCoreServer implements CoreHandle {
  readonly baseConfig: Record<string, unknown>;
  private readonly contexts = new Map<string, Promise<AppContext | undefined>>();
  private readonly table = buildTable(allRoutes);

  constructor(
    readonly storage: CoreStorage,
    baseConfig: Record<string, unknown>,
  ) {
    this.baseConfig = baseConfig;
  }

  async init(): Promise<void> {
    if (!(await this.storage.getApp("public"))) {
      await this.storage.putApp({ appId: "public", coreConfig: {}, createdAt: Date.now() });
    }
    if (!(await this.storage.getTenant("public", "public"))) {
      await this.storage.putTenant("public", { tenantId: "public", coreConfig: {} });
    }
  }

  forgetApp(appId: string): void {
    this.contexts.delete(appId);
  }

  appContext(appId: string): Promise<AppContext | undefined> {
    let ctx = this.contexts.get(appId);
    if (!ctx) {
      ctx = this.storage.getApp(appId).then((record) => {
        if (!record) {
          this.contexts.delete(appId);
          return undefined;
        }
        const config: CoreConfig = resolveConfig(this.baseConfig, record.coreConfig);
        const storage = this.storage.app(appId);
        const getConfig = () => config;
        return { appId, storage, keys: new KeyRing(storage, getConfig), config: getConfig };
      });
      this.contexts.set(appId, ctx);
    }
    return ctx;
  }

  /** Split `[/appid-<a>][/<tenant>]<api path>` as the core's PathRouter does. */
  private resolvePath(path: string): { appId: string; tenantId: string; routes: Route[] | undefined; apiPath: string } {
    const exact = this.table.byPath.get(path);
    if (exact) return { appId: "public", tenantId: "public", routes: exact, apiPath: path };
    let appId = "public";
    let rest = path;
    const first = path.split("/")[1] ?? "";
    if (first.startsWith("appid-")) {
      appId = first.slice("appid-".length);
      rest = path.slice(first.length + 1) || "/";
      const hit = this.table.byPath.get(rest);
      if (hit) return { appId, tenantId: "public", routes: hit, apiPath: rest };
    }
    const segment = rest.split("/")[1] ?? "";
    if (segment && !reservedTenantIds.has(segment) && idPattern.test(segment)) {
      const apiPath = rest.slice(segment.length + 1) || "/";
      return { appId, tenantId: segment, routes: this.table.byPath.get(apiPath), apiPath };
    }
    return { appId, tenantId: "public", routes: undefined, apiPath: rest };
  }

  private checkApiKey(req: IncomingMessage, config: CoreConfig) {
    if (!config.api_keys) return;
    const keys = config.api_keys.split(",").map((k) => k.trim());
    const auth = req.headers.authorization;
    const given =
      (req.headers["api-key"] as string | undefined) ??
      (auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined);
    if (given === undefined || !keys.includes(given)) throw new CoreHttpError(401, "Invalid API key");
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://dev-core");
    let path = url.pathname.toLowerCase();
    if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
    try {
      const { appId, tenantId, routes, apiPath } = this.resolvePath(path);
      if (!routes) {
        if (notImplemented.some((p) => apiPath === p || apiPath.startsWith(p + "/"))) {
          throw new CoreHttpError(501, `Not implemented in the supertokens-migrate dev core: ${method} ${apiPath}`);
        }
        throw new CoreHttpError(404, "Not found");
      }
      const forMethod = routes.filter((r) => r.method === method);
      if (forMethod.length === 0) throw new CoreHttpError(405, "Method not supported");
      const rid = req.headers.rid as string | undefined;
      const route =
        forMethod.find((r) => r.rid !== undefined && r.rid === rid) ??
        forMethod.find((r) => r.rid === undefined) ??
        forMethod[0];

      const cdiVersion =
        (req.headers["cdi-version"] as string | undefined) ?? supportedCdiVersions[supportedCdiVersions.length - 1];
      if (!route.open && !supportedCdiVersions.includes(cdiVersion))
        throw new CoreHttpError(400, `cdi-version ${cdiVersion} not supported`);

      const app = await this.appContext(appId);
      if (!app) throw tenantNotFound(appId, tenantId);
      if (!route.open) this.checkApiKey(req, app.config());
      if (route.scope !== "tenant" && tenantId !== "public") throw publicTenantOnly();
      if (route.scope === "base" && appId !== "public") {
        throw new CoreHttpError(403, "Only the public tenantId and public appId is allowed to call this API");
      }
      if (tenantId !== "public" && !(await this.storage.getTenant(appId, tenantId)))
        throw tenantNotFound(appId, tenantId);

      const body = method === "GET" ? {} : await readJson(req);
      const ctx: RouteContext = {
        app,
        tenantId,
        method,
        query: url.searchParams,
        body,
        cdiVersion,
        rid,
        now: Date.now(),
        core: this,
      };
      send(res, await route.handler(ctx));
    } catch (err) {
      if (err instanceof CoreHttpError) {
        debug("%s %s -> %d %s", method, path, err.status, err.message);
        sendText(res, err.status, err.message);
      } else {
        debug("%s %s -> 500 %O", method, path, err);
        sendText(res, 500, String(err));
      }
    }
  }
}

const maxBody = 10 * 1024 * 1024;

function readJson(req: IncomingMessage): Promise<Json> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (tooLarge) return;
      if (size > maxBody) {
        // Stop keeping the body but read it to its end: answering (or resetting) mid-body would cost the client its
        // keep-alive connection. The 413 goes out once the request is complete (issue 11).
        tooLarge = true;
        chunks.length = 0;
        debug("request body over %d bytes; discarding the rest, then answering 413", maxBody);
      } else chunks.push(c);
    });
    req.on("error", reject);
    req.on("end", () => {
      if (tooLarge) {
        reject(new CoreHttpError(413, `Request body too large: the limit is ${maxBody} bytes`));
        return;
      }
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
        resolve(parsed as Json);
      } catch {
        reject(new CoreHttpError(400, "Invalid Json Input"));
      }
    });
  });
}

function send(res: ServerResponse, result: RouteResult) {
  if (result.text !== undefined) {
    res.writeHead(200, { "content-type": "text/html; charset=UTF-8", ...result.headers });
    res.end(result.text);
    return;
  }
  const payload = JSON.stringify(result.body);
  res.writeHead(200, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(payload),
    ...result.headers,
  });
  res.end(payload);
}

function sendText(res: ServerResponse, status: number, message: string) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = message + "\n";
  res.writeHead(status, { "content-type": "text/html; charset=UTF-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Start a dev core. Resolves once it listens. */
export async function startDevCore(options: DevCoreOptions = {}): Promise<DevCore> {
  const { host, port: listenPort } = resolveDevCoreOptions(options);
  const base = normaliseConfigFragment(options.config ?? {});
  if (options.apiKeys?.length)
    base.api_keys = normaliseConfigFragment({ api_keys: options.apiKeys.join(",") }).api_keys;
  const storage: CoreStorage = options.storage ?? new MemoryStorage();
  const core = new DevCoreServer(storage, base);
  await core.init();
  const onRequest = options.onRequest;
  const server: Server = createServer((req, res) => {
    onRequest?.({ method: req.method ?? "GET", path: (req.url ?? "/").split("?")[0], headers: req.headers });
    core.handle(req, res).catch((err) => {
      debug("unhandled %O", err);
      if (!res.headersSent) sendText(res, 500, String(err));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  debug("dev core listening on %s", url);
  return {
    url,
    port,
    storage,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => storage.close?.()),
  };
}
