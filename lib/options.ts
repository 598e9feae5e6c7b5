import { ConfigError } from "./errors.js";

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Fail on option keys we do not know, naming the closest valid one (a typo must not silently use a default). */
export function rejectUnknownKeys(what: string, given: object, valid: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (valid.includes(key)) continue;
    const best = valid.map((v) => [v, distance(key, v)] as const).sort((a, b) => a[1] - b[1])[0];
    const hint = best && best[1] <= Math.max(2, Math.floor(key.length / 3)) ? ` Did you mean \`${best[0]}\`?` : "";
    throw new ConfigError(`${what}: unknown option \`${key}\`.${hint} Valid options: ${valid.join(", ")}.`);
  }
}
