import type { Effect } from "effect"
import { Context } from "effect"
import type { RegistryUnavailable } from "../domain/Errors.js"
import type { AudioHolding, AudioUsage, FoundAudio } from "./AudioStore.js"

/**
 * The answer to a reservation. In every case `victims` are finished tasks whose audio the caller now removes (then
 * releases): the ledger no longer counts them as held, only as being removed.
 * - `Admitted`: the segment may be written; commit (or cancel) the reservation `token` afterwards.
 * - `Busy`: no room yet, but removals under way (by this or another writer) will make some: try again shortly.
 * - `Full`: running tasks' audio alone is over the budget; the segment must not be written.
 */
export type Admission =
  | { readonly _tag: "Admitted"; readonly token: string; readonly victims: ReadonlyArray<string> }
  | { readonly _tag: "Busy"; readonly victims: ReadonlyArray<string> }
  | { readonly _tag: "Full"; readonly victims: ReadonlyArray<string>; readonly maxBytes: number }

/**
 * The audio accounting of one audio directory: bytes held per task and segment, bytes reserved by writes under way,
 * bytes of audio being removed. Every decision to remove is taken here, in one atomic step with the count it reads,
 * so that the budget holds for the directory whoever writes: one process (in memory) or every process sharing the
 * directory and a Redis registry (kept in Redis beside the registry). Never picks the audio of an active task.
 *
 * Every method may fail with `RegistryUnavailable` when the ledger is kept in a store that cannot be reached.
 */
export class AudioLedger extends Context.Tag("storyflow/AudioLedger")<
  AudioLedger,
  {
    /**
     * Stores `ours` as the budget if none is stored, and answers the budget that applies (0 = none). A ledger shared
     * by processes keeps the first one's budget; in memory it is `ours`.
     */
    readonly budget: (ours: number) => Effect.Effect<number, RegistryUnavailable>
    /**
     * Reserves `size` bytes for a segment of `taskId`: at once if they fit in the budget, else after picking the
     * least recently written finished tasks' audio to remove. Admits one segment past the budget per writer while
     * what is held (and being removed) is within it.
     */
    readonly reserve: (taskId: string, size: number) => Effect.Effect<Admission, RegistryUnavailable>
    /** Records a written segment (replacing any earlier file of the same segment) and ends its reservation. */
    readonly commit: (
      token: string,
      taskId: string,
      segmentId: string,
      bytes: number,
      at: number
    ) => Effect.Effect<void, RegistryUnavailable>
    /** Ends a reservation whose segment was not written. */
    readonly cancel: (token: string) => Effect.Effect<void, RegistryUnavailable>
    /**
     * Picks finished tasks' audio to remove, least recently written first: every one last written before `cutoff`,
     * then more while what is held is over the budget. At most `limit` per call.
     */
    readonly pick: (cutoff: number, limit: number) => Effect.Effect<ReadonlyArray<string>, RegistryUnavailable>
    /** Takes a task's audio out of the count to remove it, whatever its state; false if the ledger holds none. */
    readonly take: (taskId: string) => Effect.Effect<boolean, RegistryUnavailable>
    /** Says that a picked or taken task's audio is gone from the disk. */
    readonly release: (taskId: string) => Effect.Effect<void, RegistryUnavailable>
    /** Adds what the disk holds and the ledger does not know of (files from before the ledger, or a lost Redis). */
    readonly reconcile: (found: ReadonlyArray<FoundAudio>) => Effect.Effect<void, RegistryUnavailable>
    /** Bytes held (being removed included) and the tasks they belong to, for the whole directory. */
    readonly usage: Effect.Effect<AudioUsage, RegistryUnavailable>
    /** Every task's audio, the least recently written first. */
    readonly holdings: Effect.Effect<ReadonlyArray<AudioHolding>, RegistryUnavailable>
  }
>() {}
