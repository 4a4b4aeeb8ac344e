import { once } from "node:events"
import { connect, createServer } from "node:net"

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = async (): Promise<number> => {
  const probe = createServer().listen(0, "127.0.0.1")
  await once(probe, "listening")
  const address = probe.address()
  probe.close()
  if (address === null || typeof address === "string") throw new Error("no free port")
  return address.port
}

/** What a raw connection received before the server closed it, and when. */
export interface Closed {
  readonly afterMs: number
  readonly received: string
}

/**
 * A raw client that sends `head` and then `drip` (if any) every `everyMs`, so that its request never ends, until the
 * server closes the connection (or `stop` is called). `closed` resolves with what it received by then.
 */
export const trickle = (port: number, head: string, drip?: string, everyMs = 100) => {
  const started = Date.now()
  const socket = connect(port, "127.0.0.1")
  let received = ""
  socket.setEncoding("latin1")
  socket.on("data", (chunk: string) => (received += chunk))
  socket.on("error", () => {}) // a reset is one way of being cut off
  socket.write(head)
  const timer = setInterval(() => {
    if (drip !== undefined && socket.writable) socket.write(drip)
  }, everyMs)
  const closed = new Promise<Closed>((resolve) =>
    socket.on("close", () => {
      clearInterval(timer)
      resolve({ afterMs: Date.now() - started, received })
    })
  )
  const connected = once(socket, "connect")
  return { closed, connected, received: () => received, stop: () => socket.destroy() }
}

/**
 * Sends `parts` on a raw connection, as fast as the server takes them, and answers everything received until the
 * server closes the connection (send `Connection: close`), or `seconds` have passed.
 */
export const exchange = (port: number, parts: Iterable<string | Uint8Array>, seconds = 5) =>
  new Promise<Closed & { readonly error?: string }>((resolve) => {
    const started = Date.now()
    const socket = connect(port, "127.0.0.1")
    let received = ""
    let error: string | undefined
    socket.setEncoding("latin1")
    socket.on("data", (chunk: string) => (received += chunk))
    socket.on("error", (e) => (error = e.message))
    const timer = setTimeout(() => socket.destroy(), seconds * 1000)
    socket.on("close", () => {
      clearTimeout(timer)
      resolve({ afterMs: Date.now() - started, received, ...(error === undefined ? {} : { error }) })
    })
    for (const part of parts) socket.write(part)
  })
