import type { Duration } from "effect"
import { Clock, Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { CompletedSegment } from "../src/domain/Task.js"
import * as TaskKind from "../src/domain/TaskKind.js"
import * as TaskRegistryMemory from "../src/layers/registry/TaskRegistryMemory.js"
import * as TaskWorkers from "../src/layers/registry/TaskWorkers.js"
import * as RegistryConfig from "../src/services/RegistryConfig.js"
import * as TaskHandler from "../src/services/TaskHandler.js"

// Small helpers shared by the benchmarks: medians, ratios and tables.

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`

export const fixed = (value: number, digits = 2): string => value.toFixed(digits)

/** Prints rows as an aligned Markdown table, so that output can be pasted into BENCHMARKS.md as is. */
export const table = (title: string, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  console.log(`\n### ${title}\n`)
  console.log(line(header))
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`)
  for (const row of rows) console.log(line(row))
}

export interface Mode {
  readonly full: boolean
  /** Repetitions of each measurement; the median is reported. */
  readonly repetitions: number
  /** Other builds' `main.js` to measure side by side with this one, where a section supports it (http). */
  readonly against?: ReadonlyArray<string> | undefined
}

/**
 * A clock the benchmark moves by hand. `TestClock.adjust` yields to the live clock on every call (milliseconds
 * each), which would swamp a microsecond-scale measurement; reading a number costs nothing.
 */
export class ManualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 0
  advance(millis: number) {
    this.now += millis
  }
  unsafeCurrentTimeMillis() {
    return this.now
  }
  readonly currentTimeMillis = Effect.sync(() => this.now)
  unsafeCurrentTimeNanos() {
    return BigInt(Math.round(this.now * 1_000_000))
  }
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(_: Duration.Duration): Effect.Effect<void> {
    return Effect.dieMessage("ManualClock cannot sleep; benchmarks run jobs that do not wait")
  }
}

/**
 * Runs `self` with the manual clock and without log output, so that what is measured is the registry, not the
 * terminal. (The eviction log's summarising fiber cannot sleep on this clock and stops at its first wait; what it
 * counted is said by the next line a minute of this clock later, or when the store closes.)
 */
export const benchmarkEnv = <A, E>(clock: ManualClock, self: Effect.Effect<A, E>) =>
  self.pipe(Effect.withClock(clock), Logger.withMinimumLogLevel(LogLevel.None))

/** A kind whose handler reports its one segment at once: what the registry itself costs per task. */
export const Noop = TaskKind.make({ name: "bench.noop", payload: Schema.Struct({}), total: () => 1 })

const NoopHandler = TaskHandler.layer(
  Noop,
  Effect.succeed((_: {}, progress: TaskHandler.TaskProgress) =>
    progress.segmentDone(
      new CompletedSegment({ segmentId: "s1", audioUrl: `/audio/${progress.taskId}/s1.wav`, durationSeconds: 2.5 })
    )
  )
)

/** The in-memory registry with its workers running `Noop`, configured in code over the defaults. */
export const registryLayer = (config: Partial<RegistryConfig.RegistryConfigShape>) =>
  TaskWorkers.layer(Noop).pipe(
    Layer.provide(NoopHandler),
    Layer.provideMerge(TaskRegistryMemory.layer),
    Layer.provide(RegistryConfig.layer(config))
  )
