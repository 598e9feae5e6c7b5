import type { Route } from "../context.js";

export const userIdMappingRoutes: Route[] = [];
