import type { Route } from "../context.js";
import { field, queryParam } from "../http.js";

const rid = "usermetadata";

/** Metadata is keyed by the id exactly as given: the external id once a mapping exists. */
export const metadataRoutes: Route[] = [
  {
    method: "GET",
    path: "/recipe/user/metadata",
    scope: "app",
    rid,
    async handler({ app, query }) {
      const metadata = (await app.storage.getMetadata(queryParam(query, "userId", true))) ?? {};
      return { body: { metadata, status: "OK" } };
    },
  },
  {
    method: "PUT",
    path: "/recipe/user/metadata",
    scope: "app",
    rid,
    async handler({ app, body }) {
      const userId = field(body, "userId", "string", true);
      const update = field(body, "metadataUpdate", "object", true);
      // MetadataUtils.shallowMergeMetadataUpdate: top-level keys replace, JSON null removes. The row stays even
      // when it ends up empty, and still counts as "in use" for user id mapping.
      const metadata = (await app.storage.getMetadata(userId)) ?? {};
      for (const [key, value] of Object.entries(update)) {
        if (value === null) delete metadata[key];
        else metadata[key] = value;
      }
      await app.storage.setMetadata(userId, metadata);
      return { body: { metadata, status: "OK" } };
    },
  },
  {
    method: "POST",
    path: "/recipe/user/metadata/remove",
    scope: "app",
    rid,
    async handler({ app, body }) {
      await app.storage.deleteMetadata(field(body, "userId", "string", true));
      return { body: { status: "OK" } };
    },
  },
];
