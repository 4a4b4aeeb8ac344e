import { TaskRegistryLive } from "../../src/layers/TaskRegistryLive.js"
import { withEnv } from "../support/registry.js"
import { registrySuite } from "../support/registrySuite.js"

registrySuite("TaskRegistryLive (in memory)", (env) => withEnv(TaskRegistryLive, env))
