import type { OutboxEmail } from "./views/pages.js";

/**
 * Where the demo's emails go instead of an SMTP server: kept in memory for the /outbox page (and the browser
 * tests, which follow the link from there) and printed to the terminal. Reset links are credentials: this is
 * why the demo listens on 127.0.0.1 only by default.
 */
export class Outbox {
  private readonly emails: OutboxEmail[] = [];

  constructor(private readonly print: (line: string) => void) {}

  add(email: Omit<OutboxEmail, "sentAt">): void {
    const entry = { ...email, sentAt: new Date().toISOString().slice(0, 19).replace("T", " ") };
    this.emails.push(entry);
    // Old entries go: a long-running demo must not grow without bound.
    if (this.emails.length > 50) this.emails.shift();
    this.print(`email to ${email.to}: ${email.subject}: ${email.link}`);
  }

  list(): readonly OutboxEmail[] {
    return this.emails;
  }
}
