import { once } from "node:events"
import { createServer } from "node:net"

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = async (): Promise<number> => {
  const probe = createServer().listen(0, "127.0.0.1")
  await once(probe, "listening")
  const address = probe.address()
  probe.close()
  if (address === null || typeof address === "string") throw new Error("no free port")
  return address.port
}
