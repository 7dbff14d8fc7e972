import { selfTestActivities } from './self-test';

export interface ActivityDeps {
  /** Extra secret strings to scrub from every tool output and error (tests add the fake tokens). */
  redact?: string[];
}

/** Every activity the worker registers, built once per worker. */
export function createActivities(_deps: ActivityDeps = {}) {
  return {
    ...selfTestActivities,
  };
}

export type Activities = ReturnType<typeof createActivities>;
