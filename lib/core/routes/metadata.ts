import type { Route } from "../context.js";

export const metadataRoutes: Route[] = [];
