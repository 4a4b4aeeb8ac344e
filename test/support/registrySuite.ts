import { describe } from "@effect/vitest"
import type { RegistryLayer } from "./registry.js"
import { evictionSuite } from "./suite/eviction.js"
import { lifecycleSuite } from "./suite/lifecycle.js"

/**
 * The behaviour every `TaskRegistry` implementation must show, run against the layer `makeLayer` builds from
 * environment-style settings. A second implementation runs the very same suite by calling this.
 */
export const registrySuite = (name: string, makeLayer: RegistryLayer) =>
  describe(name, () => {
    evictionSuite(makeLayer)
    lifecycleSuite(makeLayer)
  })
