import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, FiberId, Logger, Option } from "effect"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { logCapture } from "../logs.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus, eventually } from "../registry.js"
import * as Jobs from "../script.js"
import { Gates, newGate, submit } from "../script.js"

/**
 * A logger that, once armed, interrupts the fiber that logs the next "Cleaned up" line: the registry logs it in the
 * middle of a `submit` or a `cancel` that evicts, after the record has been stored. This is how a client that
 * disconnects mid-request (or a caller's `Effect.timeout`) interrupts an operation at its most delicate point.
 */
const interruptOnCleanup = () => {
  let armed = false
  const logger = Logger.make(({ message }) => {
    if (!armed || !String(message).startsWith("Cleaned up")) return
    armed = false
    Option.map(Fiber.getCurrentFiber(), (fiber) => fiber.unsafeInterruptAsFork(FiberId.none))
  })
  return { arm: () => void (armed = true), layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** Finishes one task and lets it expire, so that the next submit evicts it (and logs that it did). */
const oneExpired = (advance: RegistryHarness["advance"]) =>
  Effect.gen(function* () {
    const done = yield* submit(Jobs.instant())
    yield* awaitStatus(done.id, "COMPLETED")
    yield* advance("2 hours")
  })

/** `submit` and `cancel` are atomic against interruption; tasks run in the registry's context. */
export const interruptionSuite = (harness: RegistryHarness) => {
  const using = (env: Record<string, string>) => Effect.provide(harness.layer({ TASK_CLEANUP_INTERVAL: "0", ...env }))

  describe("interruption", () => {
    it.effect("a submit interrupted once its record is stored still runs the task, so no slot is held for good", () => {
      const interrupter = interruptOnCleanup()
      return Effect.gen(function* () {
        const registry = yield* TaskRegistry
        yield* oneExpired(harness.advance)
        interrupter.arm()
        const exit = yield* submit(Jobs.instant()).pipe(Effect.fork, Effect.flatMap(Fiber.await))
        expect(exit._tag).toBe("Failure")
        // The client never heard back, but the task it submitted is on record and runs like any other.
        const [stored] = yield* registry.list({})
        expect(stored).toBeDefined()
        yield* awaitStatus(stored!.id, "COMPLETED")
        // With TASK_MAX_PENDING=1, a stranded record would refuse every later submit.
        const next = yield* submit(Jobs.instant())
        yield* awaitStatus(next.id, "COMPLETED")
      }).pipe(using({ TASK_MAX_PENDING: "1" }), Effect.provide(interrupter.layer))
    })

    it.effect("a cancel interrupted once the record is CANCELLED still stops the handler and frees its worker", () => {
      const interrupter = interruptOnCleanup()
      return Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gates = yield* Gates
        const [gate, ranToTheEnd, interrupted] = [newGate(), newGate("end"), newGate("interrupted")]
        const done = yield* submit(Jobs.instant())
        yield* awaitStatus(done.id, "COMPLETED")
        const running = yield* submit({
          total: 1,
          steps: [
            { _tag: "Await", gate },
            { _tag: "Open", gate: ranToTheEnd },
            { _tag: "Done", count: 1 }
          ],
          interrupted
        })
        yield* awaitStatus(running.id, "PROCESSING")
        // The cancel will evict the finished task, and log that it did, after it has stored the CANCELLED record.
        yield* harness.advance("2 hours")
        interrupter.arm()
        const exit = yield* registry.cancel(running.id).pipe(Effect.fork, Effect.flatMap(Fiber.await))
        expect(exit._tag).toBe("Failure")
        expect((yield* registry.get(running.id))._tag).toBe("CANCELLED")
        yield* gates.await(interrupted)
        yield* gates.open(gate)
        expect(yield* gates.isOpen(ranToTheEnd)).toBe(false)
        // The only worker is free again.
        const next = yield* submit(Jobs.instant())
        yield* awaitStatus(next.id, "COMPLETED")
        expect(yield* gates.isOpen(ranToTheEnd)).toBe(false)
      }).pipe(using({ TASK_CONCURRENCY: "1" }), Effect.provide(interrupter.layer))
    })

    it.effect("runs tasks in the registry's own context, not in the context of the request that submitted them", () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        const task = yield* submit({ total: 0, steps: [{ _tag: "Log", message: "running" }] }).pipe(
          Effect.annotateLogs("requestId", "r-1"),
          Effect.withLogSpan("request")
        )
        yield* awaitStatus(task.id, "COMPLETED")
        const running = yield* eventually(
          Effect.sync(() => lines.find((l) => l.message === "running")),
          (line) => line !== undefined
        )
        expect(running?.annotations).toMatchObject({ taskId: task.id, kind: "test.script" })
        expect(running?.annotations).not.toHaveProperty("requestId")
        expect(running?.spans).toEqual([])
      }).pipe(using({}), Effect.provide(layer))
    })
  })
}
