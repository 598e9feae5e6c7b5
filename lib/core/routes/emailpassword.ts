import type { Route } from "../context.js";

export const emailPasswordRoutes: Route[] = [];
