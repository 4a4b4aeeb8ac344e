/** The task's identifier: a branded UUID. */
export { TaskId } from "./domain/TaskId.js"

export {
  /** Cancelled on request or interrupted. */
  Cancelled,
  /** The run ended normally. */
  Completed,
  /** One segment's audio, as a job reports it. */
  CompletedSegment,
  /** The run failed or died, or every segment failed. */
  Failed,
  /** A move the task state machine does not allow. */
  InvalidTransition,
  /** Whether a task is PENDING or PROCESSING. */
  isActive,
  /** Whether a task is COMPLETED, FAILED or CANCELLED. */
  isFinished,
  /** Submitted, waiting for a worker slot. */
  Pending,
  /** Running. */
  Processing,
  /** Processed segments against the total. */
  progress,
  /** One segment's failure, as a job reports it. */
  SegmentError,
  /** The task: a tagged union of its five states. */
  Task,
  /** The five statuses. */
  TaskStatus
} from "./domain/Task.js"
export type {
  /** A PENDING or PROCESSING task. */
  ActiveTask,
  /** A COMPLETED, FAILED or CANCELLED task. */
  FinishedTask,
  /** Processed segments against the total. */
  Progress
} from "./domain/Task.js"

export {
  /** Past TASK_MAX_PENDING unfinished tasks; retry later. */
  RegistryFull,
  /** A finished task cannot be cancelled. */
  TaskAlreadyFinished,
  /** The task finished and its record has expired; carries its tombstone. */
  TaskExpired,
  /** No task with this id is known. */
  TaskNotFound
} from "./domain/Errors.js"

/** The pure registry state and its eviction: `evictExpired`, `enforceCap`, `evict`, tombstones. */
export * as RegistryState from "./domain/RegistryState.js"
/** Removes finished records past the threshold; pure, O(k log n) for k evicted. */
export { evictExpired } from "./domain/RegistryState.js"

/** The registry service, its job and progress interfaces. */
export { TaskRegistry } from "./services/TaskRegistry.js"
export type {
  /** Work to run in the background. */
  Job,
  /** What a running job reports, one call per segment. */
  JobProgress,
  /** Filter for `TaskRegistry.list`. */
  ListFilter,
  /** Counts from `TaskRegistry.stats`. */
  RegistryStats
} from "./services/TaskRegistry.js"

/** The registry's configuration service, its defaults and its env-var reader. */
export * as RegistryConfig from "./services/RegistryConfig.js"

/** The in-memory registry with its sweep fiber: from env (`TaskRegistryLive`), from code, or bring your own config. */
export { TaskRegistryFromConfig, taskRegistryLayer, TaskRegistryLive } from "./layers/TaskRegistryLive.js"
/** The in-memory registry alone, without the sweep fiber. */
export * as TaskRegistryMemory from "./layers/TaskRegistryMemory.js"
/** The periodic sweep fiber, for any `TaskRegistry`. */
export * as Sweeper from "./layers/Sweeper.js"

/** The speech engine service, and its error. */
export { SynthesisError, Synthesizer } from "./services/Synthesizer.js"
/** Where generated audio files live, and its errors. */
export { AudioNotFound, AudioStore, AudioStoreError } from "./services/AudioStore.js"
/** Turns a batch of segments into a registry task; its request types. */
export { AudioGeneration } from "./services/AudioGeneration.js"
export type {
  /** A validated batch of segments to narrate. */
  GenerationRequest,
  /** One segment of a batch. */
  SegmentRequest
} from "./services/AudioGeneration.js"
/** 16-bit mono PCM audio and its WAV encoding. */
export { decodeWav, durationSeconds, encodeWav, type Speech } from "./domain/Wav.js"

/** The HTTP API definition (endpoints and wire schemas), for clients derived with `HttpApiClient`. */
export { Api } from "./http/Api.js"
/** The HTTP server: `ServerLive` as `npm start` runs it, or `HttpAppLive` + `servicesWith(engine)` to compose your own. */
export { HttpAppLive, ServerLive, servicesWith } from "./http/Server.js"
/** eSpeak NG in a worker thread: the default speech engine. */
export * as EspeakSynthesizer from "./layers/EspeakSynthesizer.js"
/** A fast deterministic speech engine for tests. */
export * as TestSynthesizer from "./layers/TestSynthesizer.js"
