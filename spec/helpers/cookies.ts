/** A minimal cookie jar for supertest responses: enough to follow SuperTokens' and express-session's cookies. */
export class CookieJar {
  readonly cookies = new Map<string, { value: string; path: string }>();

  /** Apply a response's Set-Cookie headers (expired ones delete). */
  update(res: { headers: Record<string, unknown> }): this {
    const raw = res.headers["set-cookie"];
    const list = Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [];
    for (const line of list as string[]) {
      const [pair, ...attrs] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
      const expires = attrs.find((a) => a.toLowerCase().startsWith("expires="))?.slice(8);
      const maxAge = attrs.find((a) => a.toLowerCase().startsWith("max-age="))?.slice(8);
      const gone =
        (expires !== undefined && Date.parse(expires) <= Date.now()) ||
        (maxAge !== undefined && Number(maxAge) <= 0) ||
        value === "";
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
    return this;
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  set(name: string, value: string, path = "/"): this {
    this.cookies.set(name, { value, path });
    return this;
  }

  /** Cookie header for a request to `path`. */
  header(path = "/"): string {
    return [...this.cookies]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([n, c]) => `${n}=${c.value}`)
      .join("; ");
  }

  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [n, c] of this.cookies) copy.cookies.set(n, { ...c });
    return copy;
  }
}
