import type { Route } from "../context.js";

export const emailVerificationRoutes: Route[] = [];
