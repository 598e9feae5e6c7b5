import { MigrateError } from "../../errors.js";

/**
 * A streaming RFC 4180 reader: fields may be quoted, and a quoted field may hold commas, line breaks and quotes
 * written twice (`""`). Records end with LF or CRLF; blank lines are skipped. A stray quote is an error, not a
 * guess: a password hash that silently lost a character would lock its owner out.
 */
export class CsvParser {
  private field = "";
  private record: string[] = [];
  /** Whether the current field started with a quote. */
  private quoted = false;
  private inQuotes = false;
  /** A quote seen inside quotes: the closing one, or the first of `""`. */
  private quoteSeen = false;
  private afterClosingQuote = false;
  /** A record that is one quoted empty field (`""`) is a record, not a blank line. */
  private recordQuoted = false;
  private skipLf = false;
  private started = false;
  private line = 1;
  /** The line where the open quoted field started: an unclosed quote is reported there, not at the end. */
  private quoteLine = 1;

  push(chunk: string): string[][] {
    const out: string[][] = [];
    let text = chunk;
    if (!this.started) {
      this.started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.skipLf) {
        this.skipLf = false;
        if (c === "\n") continue;
      }
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (c === '"') {
            this.field += '"';
            continue;
          }
          this.inQuotes = false;
          this.afterClosingQuote = true;
          // fall through: `c` follows the closing quote
        } else {
          if (c === '"') this.quoteSeen = true;
          else {
            if (c === "\n") this.line++;
            this.field += c;
          }
          continue;
        }
      }
      if (c === ",") {
        this.endField();
      } else if (c === "\n" || c === "\r") {
        this.endField();
        this.endRecord(out);
        this.line++;
        if (c === "\r") this.skipLf = true;
      } else if (this.afterClosingQuote) {
        throw this.error('text after a closing quote (write a quote inside a quoted field as "")');
      } else if (c === '"') {
        if (this.field !== "") throw this.error("a quote inside an unquoted field (quote the whole field)");
        this.inQuotes = true;
        this.quoteLine = this.line;
        this.quoted = true;
        this.recordQuoted = true;
      } else {
        this.field += c;
      }
    }
    return out;
  }

  end(): string[][] {
    if (this.inQuotes && !this.quoteSeen)
      throw this.error(
        `a quoted field opened here is not closed (it runs to the end of the file, line ${this.line})`,
        this.quoteLine,
      );
    this.inQuotes = false;
    this.quoteSeen = false;
    const out: string[][] = [];
    if (this.field !== "" || this.quoted || this.record.length > 0) {
      this.endField();
      this.endRecord(out);
    }
    return out;
  }

  private endField() {
    this.record.push(this.field);
    this.field = "";
    this.quoted = false;
    this.afterClosingQuote = false;
  }

  private endRecord(out: string[][]) {
    const blank = this.record.length === 1 && this.record[0] === "" && !this.recordQuoted;
    if (!blank) out.push(this.record);
    this.record = [];
    this.recordQuoted = false;
  }

  private error(what: string, line = this.line) {
    return new MigrateError("ERR_MIGRATE_BAD_INPUT", `CSV line ${line}: ${what}.`);
  }
}

/** Quote a field when it needs it (the writer the parser's tests round-trip through). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value === "" ? `"${value.replace(/"/g, '""')}"` : value;
}
