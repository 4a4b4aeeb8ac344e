import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { ServerLive } from "./App.js"

// SIGINT/SIGTERM interrupt the main fiber: running tasks end CANCELLED, the sweep fiber and the speech worker stop,
// the server closes, and the process exits 0.
Layer.launch(ServerLive).pipe(NodeRuntime.runMain)
