import type { Schema } from "effect"

/**
 * A kind of task: a name, a payload schema whose encoded form is JSON, and how many units of progress a payload
 * makes. A task is data (its kind's name and its encoded payload), so that any process that has a handler for the
 * kind can run it; submitting needs only the kind, running needs a handler (see `TaskHandler`).
 */
export interface TaskKind<Name extends string, A, I = unknown> {
  readonly name: Name
  readonly payload: Schema.Schema<A, I>
  /** Units of progress (segments) the task reports, one `segmentDone` or `segmentFailed` each. */
  readonly total: (payload: A) => number
  /**
   * How much work a payload is, for admission: unfinished tasks may hold at most `TASK_MAX_PENDING_WORK` of it
   * in all (narration counts characters). Its `total` when absent.
   */
  readonly weight?: ((payload: A) => number) | undefined
}

/** What a kind's name may be: stores use it as it is, in keys and messages, so it needs no quoting anywhere. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/

/** Why `name` cannot name a kind, or undefined when it can. */
export const invalidName = (name: string): string | undefined =>
  NAME.test(name)
    ? undefined
    : `Invalid task kind name ${JSON.stringify(name)}: a kind's name is 1 to 64 characters, letters, digits, ` +
      `"_", ".", ":" and "-", starting with a letter or a digit`

/**
 * A kind of task. Throws, where the kind is declared, if its name is not 1 to 64 characters of letters, digits,
 * `_`, `.`, `:` and `-` starting with a letter or digit (`NAME`).
 */
export const make = <const Name extends string, A, I>(options: {
  readonly name: Name
  readonly payload: Schema.Schema<A, I>
  readonly total: (payload: A) => number
  readonly weight?: ((payload: A) => number) | undefined
}): TaskKind<Name, A, I> => {
  const invalid = invalidName(options.name)
  if (invalid !== undefined) throw new TypeError(invalid)
  return options
}

/** How much work `payload` is. */
export const weightOf = <Name extends string, A, I>(kind: TaskKind<Name, A, I>, payload: A): number =>
  kind.weight === undefined ? kind.total(payload) : kind.weight(payload)
