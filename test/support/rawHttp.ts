import type { Agent, IncomingHttpHeaders } from "node:http"
import { request } from "node:http"
import { connect } from "node:net"

// A client that sends what it is told, for requests that HttpClient would not build (any method, path, header or
// body). It talks to 127.0.0.1 only.

export interface RawRequest {
  readonly method: string
  /** Sent as is: percent-encode anything that is not printable ASCII. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Uint8Array | undefined
  /** Send the body with `transfer-encoding: chunked`, in pieces of this many bytes, instead of with a length. */
  readonly chunkSize?: number | undefined
}

export interface RawReply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** The header lines as received, in order: name, value, name, value... */
  readonly rawHeaders: ReadonlyArray<string>
  readonly body: Buffer
}

export interface RawOptions {
  /** The request fails if no whole answer has arrived by then. */
  readonly timeoutMs: number
  /** A keep-alive agent to reuse connections; by default each request has its own connection. */
  readonly agent?: Agent | undefined
}

export const sendRaw = (port: number, sent: RawRequest, options: RawOptions): Promise<RawReply> =>
  new Promise((resolve, reject) => {
    const chunked = sent.body !== undefined && sent.chunkSize !== undefined
    const declared = Object.keys(sent.headers).some((name) => name.toLowerCase() === "content-length")
    const outgoing = request({
      host: "127.0.0.1",
      port,
      method: sent.method,
      path: sent.path,
      // Framing is set here: for GET, DELETE, HEAD and OPTIONS node would send a body with neither a length nor
      // chunks, and the server would read it as the start of the next request.
      headers: chunked
        ? { ...sent.headers, "transfer-encoding": "chunked" }
        : sent.body !== undefined && !declared
          ? { ...sent.headers, "content-length": String(sent.body.length) }
          : sent.headers,
      agent: options.agent ?? false
    })
    const timer = setTimeout(
      () => outgoing.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs
    )
    const fail = (error: Error) => {
      clearTimeout(timer)
      reject(error)
    }
    outgoing.on("error", fail)
    outgoing.on("response", (response) => {
      const parts: Array<Buffer> = []
      response.on("data", (part: Buffer) => parts.push(part))
      response.on("error", fail)
      response.on("end", () => {
        clearTimeout(timer)
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          rawHeaders: response.rawHeaders,
          body: Buffer.concat(parts)
        })
      })
    })
    if (sent.body === undefined) {
      outgoing.end()
    } else if (chunked && sent.chunkSize !== undefined) {
      for (let at = 0; at < sent.body.length; at += sent.chunkSize) {
        outgoing.write(sent.body.subarray(at, at + sent.chunkSize))
      }
      outgoing.end()
    } else {
      outgoing.end(sent.body)
    }
  })

/**
 * Writes the first `cut` bytes of a request (its head, then as much of its body as fits) on a fresh connection,
 * waits `waitMs`, and closes the connection without reading an answer: a client that goes away mid-request.
 */
export const sendAndCut = (port: number, sent: RawRequest, cut: number, waitMs: number): Promise<void> =>
  new Promise((resolve) => {
    const body = sent.body ?? new Uint8Array()
    const head = [
      `${sent.method} ${sent.path} HTTP/1.1`,
      "host: 127.0.0.1",
      `content-length: ${body.length}`,
      ...Object.entries(sent.headers).map(([name, value]) => `${name}: ${value}`),
      "",
      ""
    ].join("\r\n")
    const bytes = Buffer.concat([Buffer.from(head, "latin1"), body]).subarray(0, cut)
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(bytes)
      setTimeout(() => socket.destroy(), waitMs)
    })
    socket.on("error", () => {}) // the server may close first; either way the request is gone
    socket.on("close", () => resolve())
  })
