import { redisHarness } from "../../support/redis.js"
import { registrySuite } from "../../support/registrySuite.js"

registrySuite("TaskRegistryRedis", redisHarness)
