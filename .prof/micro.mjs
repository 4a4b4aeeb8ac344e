import { Effect, PubSub, Schema, Ref, Queue } from "effect"
const N = 50000
const time = async (label, eff) => {
  await Effect.runPromise(eff(1000))
  const t0 = performance.now(); await Effect.runPromise(eff(N)); console.log(label.padEnd(30), ((performance.now() - t0) / N * 1000).toFixed(2), "µs")
}
const loop = (body) => (n) => Effect.gen(function* () { for (let i = 0; i < n; i++) yield* body })
const S = Schema.Struct({ total: Schema.Int, steps: Schema.Array(Schema.Union(Schema.TaggedStruct("Done", { count: Schema.Int }), Schema.TaggedStruct("Sleep", { millis: Schema.Number }))) })
const payload = { total: 1, steps: [{ _tag: "Done", count: 1 }] }
const ref = Ref.unsafeMake(0)
await time("Ref.update", loop(Ref.update(ref, (n) => n + 1)))
await time("withSpan(void)", loop(Effect.withSpan(Effect.void, "x")))
await time("encode struct", loop(Effect.suspend(() => Schema.encode(S)(payload))))
await time("decodeUnknown struct", loop(Effect.suspend(() => Schema.decodeUnknown(S)(payload))))
await time("uninterruptible gen", loop(Effect.uninterruptible(Effect.gen(function* () { yield* Effect.void }))))
const ps = Effect.runSync(PubSub.sliding(1)); 
await time("publish sliding no sub", loop(PubSub.publish(ps, undefined)))
const pu = Effect.runSync(PubSub.unbounded());
await time("publish unbounded no sub", loop(PubSub.publish(pu, 1)))
await time("randomUUID", loop(Effect.sync(() => crypto.randomUUID())))
await time("fork+await", loop(Effect.flatMap(Effect.fork(Effect.void), (f) => f.await)))
await time("Deferred.make", loop(Effect.flatMap(Effect.makeSemaphore(1), () => Effect.void)))
await time("scoped acquireRelease", loop(Effect.scoped(Effect.acquireRelease(Effect.void, () => Effect.void))))
await time("annotateLogs", loop(Effect.annotateLogs(Effect.void, { a: "1", b: "2" })))
await time("yieldNow", loop(Effect.yieldNow()))
