import type { Queryable } from "./db.js";

export interface Note {
  id: number;
  body: string;
  createdAt: string;
}

/** The notes table, keyed by the user id both systems agree on (the legacy id, kept through the mapping). */
export function notesRepository(db: Queryable) {
  return {
    async list(userId: string): Promise<Note[]> {
      const { rows } = await db.query<{ id: number; body: string; created: string }>(
        "SELECT id, body, to_char(created_at, 'YYYY-MM-DD HH24:MI') AS created FROM notes WHERE user_id = $1 ORDER " +
          "BY id",
        [userId],
      );
      return rows.map((r) => ({ id: Number(r.id), body: String(r.body), createdAt: String(r.created) }));
    },
    async add(userId: string, body: string): Promise<void> {
      await db.query("INSERT INTO notes (user_id, body) VALUES ($1, $2)", [userId, body]);
    },
    /** Only the owner's note goes; someone else's id does nothing. */
    async remove(userId: string, noteId: number): Promise<void> {
      await db.query("DELETE FROM notes WHERE id = $1 AND user_id = $2", [noteId, userId]);
    },
  };
}

export type NotesRepository = ReturnType<typeof notesRepository>;

/** A note's text as a form sends it: trimmed, not empty, not a novel. */
export function parseNoteBody(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const body = value.trim();
  return body.length > 0 && body.length <= 2000 ? body : undefined;
}
