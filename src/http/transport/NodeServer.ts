import { HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import type { Config } from "effect"
import { Context, Effect, Layer } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"

/** Answers a request itself and says so (true), or leaves it to the Effect platform (false). */
export type Intercept = (request: Http.IncomingMessage, response: Http.ServerResponse) => boolean

/**
 * A node HTTP server on which one hot route can be answered before @effect/platform's handler sees the request.
 * The platform runs each request in a fiber of its own, with a scope, middleware and response handling, which
 * costs several times what node itself spends on a small answer; `intercept` lets a route that has been measured
 * to need it skip that, and leaves every request it does not answer to the platform, untouched.
 */
export class InterceptingServer extends Http.Server {
  /** Status polls (./Polling.ts). */
  intercept: Intercept | undefined = undefined
  /** Event streams (../live/StreamIntercept.ts), tried after `intercept`. */
  streamIntercept: Intercept | undefined = undefined

  override emit(event: string, ...args: Array<unknown>): boolean {
    if (event === "request" && (this.intercept !== undefined || this.streamIntercept !== undefined)) {
      const [request, response] = args
      if (
        request instanceof Http.IncomingMessage &&
        response instanceof Http.ServerResponse &&
        (this.intercept?.(request, response) === true || this.streamIntercept?.(request, response) === true)
      ) {
        return true
      }
    }
    return super.emit(event, ...args)
  }
}

/** The node server under the `HttpServer`, for installing an intercept (see ./Polling.ts). */
export class NodeServer extends Context.Tag("storyflow/http/NodeServer")<NodeServer, InterceptingServer>() {}

const withServer = <A, E, R>(serve: (server: InterceptingServer) => Layer.Layer<A, E, R>) =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const server = new InterceptingServer()
      return serve(server).pipe(Layer.merge(Layer.succeed(NodeServer, server)))
    })
  )

/** `NodeHttpServer.layer` on an `InterceptingServer`, which it provides as `NodeServer` too. */
export const layer = (options: Net.ListenOptions) => withServer((server) => NodeHttpServer.layer(() => server, options))

/** `NodeHttpServer.layerConfig` on an `InterceptingServer`, which it provides as `NodeServer` too. */
export const layerConfig = (options: Config.Config.Wrap<Net.ListenOptions>) =>
  withServer((server) => NodeHttpServer.layerConfig(() => server, options))

/** `NodeHttpServer.layerTest` on an `InterceptingServer`: a free port of 127.0.0.1, and an `HttpClient` for it. */
export const layerTest = withServer((server) =>
  HttpServer.layerTestClient.pipe(
    Layer.provide(NodeHttpClient.layerWithoutAgent),
    Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
    Layer.provideMerge(NodeHttpServer.layer(() => server, { host: "127.0.0.1", port: 0 }))
  )
)
