import { describe } from "@effect/vitest"
import type { RegistryHarness } from "./registry.js"
import { claimsSuite } from "./suite/claims.js"
import { deliverySuite } from "./suite/delivery.js"
import { evictionSuite } from "./suite/eviction.js"
import { idempotencySuite } from "./suite/idempotency.js"
import { idsSuite } from "./suite/ids.js"
import { interruptionSuite } from "./suite/interruption.js"
import { lifecycleSuite } from "./suite/lifecycle.js"
import { wakeUpsSuite } from "./suite/wakeUps.js"
import { watchSuite } from "./suite/watch.js"

/**
 * The behaviour every `TaskRegistry` store must show, run against the harness's layer and clock. A second store
 * runs the very same suite by calling this with its own harness.
 */
export const registrySuite = (name: string, harness: RegistryHarness) =>
  describe(name, () => {
    evictionSuite(harness)
    idsSuite(harness)
    lifecycleSuite(harness)
    watchSuite(harness)
    interruptionSuite(harness)
    claimsSuite(harness)
    idempotencySuite(harness)
    wakeUpsSuite(harness)
    deliverySuite(harness)
  })
