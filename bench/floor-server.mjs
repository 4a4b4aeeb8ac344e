// The floor for status polling: a bare node:http server answering GET /api/tasks/{id} with the same bytes as the
// real server, from a Map. Usage: node bench/floor-server.mjs PORT TASK_ID BODY_FILE
import { readFileSync } from "node:fs"
import { createServer } from "node:http"

const [port, taskId, bodyFile] = process.argv.slice(2)
const bodies = new Map([[`/api/tasks/${taskId}`, readFileSync(bodyFile)]])

createServer((request, response) => {
  const body = bodies.get(request.url ?? "")
  if (body === undefined) {
    response.writeHead(404).end()
    return
  }
  response.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body)
}).listen(Number(port), "127.0.0.1", () => console.log("Listening"))

process.on("SIGTERM", () => process.exit(0))
