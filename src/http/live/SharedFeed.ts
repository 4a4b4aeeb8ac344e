import type { Scope } from "effect"
import { Deferred, Effect, RcMap, Schedule, Stream } from "effect"
import type { Readable } from "node:stream"
import * as Broadcast from "./Broadcast.js"
import { PING, PING_INTERVAL } from "./Sse.js"

// One stream of frames per process, however many clients read it (GET /api/events): run for the first joiner, its
// frames handed to every open response (./Broadcast.ts), and released with the last reader. When it ends (the
// registry missed changes, or failed), every reader's response ends, and the next joiner runs it anew. The stream
// is given once, not by each joiner: a description per joiner, held by its reader's finalizer, cost ~10 KB each.

/** Frames a reader may have waiting unread before its stream is ended. */
export const READER_BUFFER = 1024

export interface SharedFeed {
  /**
   * For as long as the scope is open: `first` (this reader's own frames, such as the current counts), then every
   * frame of the shared run of `frames` (started if none runs) and a ping every `PING_INTERVAL`, ending when that
   * run ends or `closing` completes.
   */
  readonly join: (first: ReadonlyArray<Uint8Array>) => Effect.Effect<Readable, never, Scope.Scope>
}

export const make = (
  frames: Stream.Stream<Uint8Array>,
  closing: Deferred.Deferred<void>
): Effect.Effect<SharedFeed, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runs: RcMap.RcMap<"run", Broadcast.Broadcast<Uint8Array>> = yield* RcMap.make({
      lookup: (key: "run") => {
        const pings = Stream.as(Stream.fromSchedule(Schedule.spaced(PING_INTERVAL)), PING)
        return Broadcast.make(
          Stream.merge(frames, pings, { haltStrategy: "left" }).pipe(
            Stream.interruptWhen(Deferred.await(closing)),
            Stream.ensuring(RcMap.invalidate(runs, key))
          ),
          { encode: (frame) => frame, capacity: READER_BUFFER, remember: () => false }
        )
      },
      idleTimeToLive: 0
    })
    return {
      join: (first) => Effect.flatMap(RcMap.get(runs, "run"), (run) => run.join(() => first))
    }
  })
