/**
 * The demo's story, step by step, as the guide at the top of every page shows it: what has happened in this
 * demo so far and what to try next. Steps are ticked by what the running process saw (a legacy sign-in, the
 * switch, dualSession()'s and legacyAuth()'s events, a visit to the progress page), whoever did them: the demo
 * is meant for one person trying it.
 *
 * The browser test takes one screenshot per step (docs/images/demo-<id>.png); spec/demo/demo-images.spec.ts
 * checks there is one for each id below, so a new step needs a new picture.
 */

export const storySteps = [
  { id: "legacy-sign-in", label: "Sign in on the old system" },
  { id: "switch", label: "Switch to SuperTokens" },
  { id: "still-signed-in", label: "Still signed in" },
  { id: "legacy-cookie-retired", label: "Old cookie retired" },
  { id: "old-password-sign-in", label: "Old password works" },
  { id: "sign-up-refused", label: "Sign-up refused" },
  { id: "progress", label: "Progress" },
] as const;

export type StoryStepId = (typeof storySteps)[number]["id"];

/** What a page needs to draw the guide. */
export interface StoryView {
  system: "legacy" | "supertokens";
  /** The page has the switch: the demo started on the old system with the switch allowed, and has not switched. */
  canSwitch: boolean;
  /** Started with the switch turned off (`--no-switch`): the way on is a restart with `--migration`. */
  restartToSwitch: boolean;
  done: ReadonlySet<StoryStepId>;
  /** Where this page is, so the switch comes back to it. */
  path: string;
}

export class Story {
  private readonly done = new Set<StoryStepId>();
  private current: "legacy" | "supertokens";

  constructor(
    start: "legacy" | "supertokens",
    private readonly switchable: boolean,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.current = start;
    if (start === "supertokens") this.done.add("switch");
  }

  get system(): "legacy" | "supertokens" {
    return this.current;
  }

  /** Called once the migrated app serves every request. */
  switched(): void {
    this.current = "supertokens";
    this.mark("switch");
  }

  mark(step: StoryStepId): void {
    if (this.done.has(step)) return;
    this.done.add(step);
    // A conversion proves a legacy sign-in happened, even one made before a restart with --migration.
    if (step === "still-signed-in") this.done.add("legacy-sign-in");
    const index = storySteps.findIndex((s) => s.id === step);
    this.log(`story: step ${index + 1} of ${storySteps.length} done (${storySteps[index].label})`);
  }

  isDone(step: StoryStepId): boolean {
    return this.done.has(step);
  }

  view(path: string): StoryView {
    return {
      system: this.current,
      canSwitch: this.current === "legacy" && this.switchable,
      restartToSwitch: this.current === "legacy" && !this.switchable,
      done: new Set(this.done),
      path,
    };
  }
}
