import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Chunk, Context, Effect, Fiber, Layer, PubSub, Queue, Ref, Stream } from "effect"
import { servicesWith } from "../../src/App.js"
import { HttpAppLive } from "../../src/http/HttpApp.js"
import * as NodeServer from "../../src/http/transport/NodeServer.js"
import * as TestSynthesizer from "../../src/layers/speech/TestSynthesizer.js"
import type { Synthesizer } from "../../src/services/Synthesizer.js"
import type { RegistryEvent } from "../../src/services/TaskRegistry.js"
import { TaskRegistry } from "../../src/services/TaskRegistry.js"
import { tempAudioDir } from "./http.js"
import { withEnv, within } from "./registry.js"

/** One frame of an event stream as it came over the wire: its fields, or the comment it was. */
export interface Frame {
  readonly event?: string
  readonly id?: string
  readonly data?: string
  readonly comment?: string
}

/** Frames out of the text of an event stream, as they complete (a frame ends at a blank line). */
export const parseFrames = (text: string): { readonly frames: ReadonlyArray<Frame>; readonly rest: string } => {
  const parts = text.split("\n\n")
  const rest = parts.pop() ?? ""
  const frames = parts.map((part) => {
    const frame: Record<string, string> = {}
    for (const line of part.split("\n")) {
      if (line.startsWith(":")) frame.comment = line.slice(1).trim()
      else {
        const colon = line.indexOf(":")
        frame[line.slice(0, colon)] = line.slice(colon + 2)
      }
    }
    return frame
  })
  return { frames, rest }
}

/**
 * Opens an event stream in the current scope (closing it disconnects the client), expecting a 200, and answers its
 * headers and its frames one at a time: `next` waits (up to 10 s of real time) for the next frame, `ended` for the end.
 */
export const openEvents = (url: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers)))
    if (response.status !== 200) {
      return yield* Effect.dieMessage(`${url} answered ${response.status}: ${yield* response.text}`)
    }
    const frames = yield* Queue.unbounded<Frame>()
    let buffered = ""
    const reader = yield* response.stream.pipe(
      Stream.decodeText(),
      Stream.runForEach((chunk) => {
        const { frames: complete, rest } = parseFrames(buffered + chunk)
        buffered = rest
        return Queue.offerAll(frames, complete)
      }),
      Effect.forkScoped
    )
    return {
      headers: response.headers,
      next: within(10, `no event came on ${url}`, Queue.take(frames)),
      /** Every frame that came until the server ended the stream. */
      ended: within(
        10,
        `${url} did not end`,
        Effect.zipRight(Fiber.join(reader), Effect.map(Queue.takeAll(frames), Chunk.toReadonlyArray))
      ),
      pending: Queue.size(frames)
    }
  })

/** Watch and event subscriptions open on the registry now, counted around the real registry's streams. */
export class OpenSubscriptions extends Context.Tag("test/OpenSubscriptions")<
  OpenSubscriptions,
  Effect.Effect<number>
>() {}

/** Adds an event to the registry's `events` stream, as a store would publish it (to test what readers do with it). */
export class InjectEvent extends Context.Tag("test/InjectEvent")<
  InjectEvent,
  (event: RegistryEvent) => Effect.Effect<void>
>() {}

/**
 * The registry, with every `watch` and `events` stream counted in `OpenSubscriptions` from start to end, and events
 * that a test adds with `InjectEvent` merged into `events`.
 */
const counting = Layer.effectContext(
  Effect.gen(function* () {
    const inner = yield* TaskRegistry
    const injected = yield* PubSub.unbounded<RegistryEvent>()
    const open = yield* Ref.make(0)
    const counted = <A, E>(stream: Stream.Stream<A, E>) =>
      Stream.unwrapScoped(
        Effect.acquireRelease(
          Ref.update(open, (n) => n + 1),
          () => Ref.update(open, (n) => n - 1)
        ).pipe(Effect.as(stream))
      )
    const registry = TaskRegistry.of({
      ...inner,
      watch: (id) => counted(inner.watch(id)),
      events: counted(Stream.merge(inner.events, Stream.fromPubSub(injected)))
    })
    return Context.make(TaskRegistry, registry).pipe(
      Context.add(OpenSubscriptions, Ref.get(open)),
      Context.add(InjectEvent, (event) => Effect.asVoid(PubSub.publish(injected, event)))
    )
  })
)

/** `serverLayer`, with the registry's subscriptions counted (`OpenSubscriptions`). */
export const countedServerLayer = (
  env: Record<string, string> = {},
  synthesizer: Layer.Layer<Synthesizer> = TestSynthesizer.layer()
) =>
  withEnv(HttpAppLive.pipe(Layer.provideMerge(counting), Layer.provide(servicesWith(synthesizer))), {
    AUDIO_DIR: tempAudioDir(),
    TASK_CLEANUP_INTERVAL: "0",
    ...env
  }).pipe(Layer.provideMerge(NodeServer.layerTest))
