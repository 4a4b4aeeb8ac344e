import { Context, Deferred, Duration, Effect, HashMap, Layer, Ref, Schema } from "effect"
import { CompletedSegment, SegmentError } from "../../src/domain/Task.js"
import * as TaskKind from "../../src/domain/TaskKind.js"
import * as TaskHandler from "../../src/services/TaskHandler.js"
import { TaskRegistry } from "../../src/services/TaskRegistry.js"

/**
 * Named one-shot signals shared by a test and the tasks it submits, so that task payloads stay data: a payload
 * names a gate, the handler awaits or opens it.
 */
export class Gates extends Context.Tag("test/Gates")<
  Gates,
  {
    readonly open: (name: string) => Effect.Effect<void>
    readonly await: (name: string) => Effect.Effect<void>
    readonly isOpen: (name: string) => Effect.Effect<boolean>
  }
>() {
  static readonly layer = Layer.effect(
    Gates,
    Effect.gen(function* () {
      const gates = yield* Ref.make(HashMap.empty<string, Deferred.Deferred<void>>())
      const gate = (name: string) =>
        Effect.flatMap(Deferred.make<void>(), (fresh) =>
          Ref.modify(gates, (map) => {
            const found = HashMap.get(map, name)
            return found._tag === "Some" ? [found.value, map] : [fresh, HashMap.set(map, name, fresh)]
          })
        )
      return {
        open: (name) => Effect.flatMap(gate(name), (d) => Deferred.succeed(d, undefined)),
        await: (name) => Effect.flatMap(gate(name), Deferred.await),
        isOpen: (name) => Effect.flatMap(gate(name), Deferred.isDone)
      }
    })
  )
}

let gateCount = 0
/** A gate name no other test uses. */
export const newGate = (label = "gate") => `${label}-${++gateCount}`

/** One step of a test task's script. */
const Step = Schema.Union(
  /** Reports the next `count` segments done. */
  Schema.TaggedStruct("Done", { count: Schema.Int }),
  /** Reports `fibers` × `each` segments done from `fibers` parallel fibers, `each` in turn on each of them. */
  Schema.TaggedStruct("DoneInParallel", { fibers: Schema.Int, each: Schema.Int }),
  /** Reports the next `count` segments failed. */
  Schema.TaggedStruct("SegmentFailed", { count: Schema.Int }),
  /** Sleeps on the clock (a `TestClock` in tests). */
  Schema.TaggedStruct("Sleep", { millis: Schema.Number }),
  Schema.TaggedStruct("Await", { gate: Schema.String }),
  Schema.TaggedStruct("Open", { gate: Schema.String }),
  /** Fails the run as a whole. */
  Schema.TaggedStruct("Fail", { message: Schema.String }),
  /** Dies with a defect. */
  Schema.TaggedStruct("Die", { message: Schema.String }),
  /** Interrupts itself. */
  Schema.TaggedStruct("Interrupt", {}),
  /** Runs until interrupted. */
  Schema.TaggedStruct("Never", {}),
  /** Logs a line at Info level. */
  Schema.TaggedStruct("Log", { message: Schema.String })
)

const ScriptPayload = Schema.Struct({
  total: Schema.Int,
  steps: Schema.Array(Step),
  /** A gate to open if the run is interrupted. */
  interrupted: Schema.optionalWith(Schema.String, { exact: true })
})
export type ScriptPayload = typeof ScriptPayload.Type

/** The test kind: a task whose payload is a script of steps, so that every test task is data. */
export const Script = TaskKind.make({ name: "test.script", payload: ScriptPayload, total: (p) => p.total })

const segment = (i: number) =>
  new CompletedSegment({ segmentId: `s${i}`, audioUrl: `/audio/t/s${i}.wav`, durationSeconds: 1 })

/** The segment that fiber `f` of a `DoneInParallel` step reports `i`th. */
export const parallelSegment = (f: number, i: number) =>
  new CompletedSegment({ segmentId: `p${f}-${i}`, audioUrl: `/audio/t/p${f}-${i}.wav`, durationSeconds: 1 })

/** Runs a script, reporting segments `s0`, `s1`, … in order. */
export const ScriptHandler = TaskHandler.layer(
  Script,
  Effect.gen(function* () {
    const gates = yield* Gates
    return (payload, progress) =>
      Effect.gen(function* () {
        let next = 0
        for (const step of payload.steps) {
          switch (step._tag) {
            case "Done":
              for (let i = 0; i < step.count; i++) yield* progress.segmentDone(segment(next++))
              break
            case "DoneInParallel":
              yield* Effect.forEach(
                Array.from({ length: step.fibers }, (_, f) => f),
                (f) =>
                  Effect.forEach(
                    Array.from({ length: step.each }, (_, i) => i),
                    (i) => progress.segmentDone(parallelSegment(f, i))
                  ),
                { concurrency: "unbounded", discard: true }
              )
              break
            case "SegmentFailed":
              for (let i = 0; i < step.count; i++) {
                yield* progress.segmentFailed(new SegmentError({ segmentId: `s${next++}`, message: "engine refused" }))
              }
              break
            case "Sleep":
              yield* Effect.sleep(step.millis)
              break
            case "Await":
              yield* gates.await(step.gate)
              break
            case "Open":
              yield* gates.open(step.gate)
              break
            case "Fail":
              return yield* Effect.fail(new Error(step.message))
            case "Die":
              return yield* Effect.die(new Error(step.message))
            case "Interrupt":
              return yield* Effect.interrupt
            case "Never":
              return yield* Effect.never
            case "Log":
              yield* Effect.logInfo(step.message)
          }
        }
      }).pipe(
        Effect.onInterrupt(() => (payload.interrupted === undefined ? Effect.void : gates.open(payload.interrupted)))
      )
  })
)

/** Reports every segment done at once. */
export const instant = (total = 1): ScriptPayload => ({ total, steps: [{ _tag: "Done", count: total }] })

/** Runs for `duration` of (test) clock time, then reports every segment done. */
export const sleeping = (duration: Duration.DurationInput, total = 1): ScriptPayload => ({
  total,
  steps: [
    { _tag: "Sleep", millis: Duration.toMillis(duration) },
    { _tag: "Done", count: total }
  ]
})

/** Waits until `gate` opens, then reports every segment done. */
export const gated = (gate: string, total = 1): ScriptPayload => ({
  total,
  steps: [
    { _tag: "Await", gate },
    { _tag: "Done", count: total }
  ]
})

/** Runs until interrupted; opens `interrupted` when the interruption reaches it. */
export const endless = (interrupted: string): ScriptPayload => ({ total: 1, steps: [{ _tag: "Never" }], interrupted })

/** Reports `fibers` × `each` segments from parallel fibers. */
export const parallel = (fibers: number, each: number): ScriptPayload => ({
  total: fibers * each,
  steps: [{ _tag: "DoneInParallel", fibers, each }]
})

/** Every segment fails. */
export const allSegmentsFail = (total: number): ScriptPayload => ({
  total,
  steps: [{ _tag: "SegmentFailed", count: total }]
})

/** One segment done, then the run fails as a whole. */
export const failing = (message: string): ScriptPayload => ({
  total: 2,
  steps: [
    { _tag: "Done", count: 1 },
    { _tag: "Fail", message }
  ]
})

/** The run dies with a defect. */
export const dying = (message: string): ScriptPayload => ({ total: 1, steps: [{ _tag: "Die", message }] })

/** The run interrupts itself. */
export const selfInterrupting: ScriptPayload = { total: 1, steps: [{ _tag: "Interrupt" }] }

/** Submits a script task to the registry in context. */
export const submit = (payload: ScriptPayload) =>
  Effect.flatMap(TaskRegistry, (registry) => registry.submit(Script, payload))

/** Submits a script task under an idempotency key. */
export const submitKeyed = (payload: ScriptPayload, idempotencyKey: string) =>
  Effect.flatMap(TaskRegistry, (registry) => registry.submit(Script, payload, { idempotencyKey }))
