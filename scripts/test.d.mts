// Types for scripts/test.mjs (the `npm test` harness), for spec/scripts/test-harness.spec.ts.
export declare const root: string;
export declare const DEFAULT_SPECS: string;
export declare class HarnessError extends Error {}
export declare function expandGlob(pattern: string, cwd?: string): string[];
export declare function runnerArgs(args: string[], cwd?: string): string[];
export declare function needsChromium(args: string[], cwd?: string): boolean;
export declare function defaultPgDirs(): string[];
export declare function findPgBin(env: NodeJS.ProcessEnv, pgDirs?: string[]): string | undefined;
export declare function findRedisServer(env: NodeJS.ProcessEnv): string | undefined;
export declare function findChromium(env: NodeJS.ProcessEnv): string | undefined;
export declare function missingMessage(
  missing: Array<"redis" | "postgres" | "chromium">,
  options?: { platform?: NodeJS.Platform; isRoot?: boolean },
): string;
export declare function freePort(): Promise<number>;
export declare function pgRunner(
  env?: NodeJS.ProcessEnv,
  isRoot?: boolean,
): { user?: { uid: number; gid: number }; wrap(cmd: string, args: string[]): [string, string[]] };
export declare function prepareServices(options?: {
  env?: NodeJS.ProcessEnv;
  args?: string[];
  pgDirs?: string[];
  platform?: NodeJS.Platform;
  isRoot?: boolean;
  onStarted?: (service: { kind: "redis"; pid: number } | { kind: "postgres"; data: string }) => void;
  logLine?: (line: string) => void;
}): Promise<{ env: NodeJS.ProcessEnv; stop(): Promise<void> }>;
