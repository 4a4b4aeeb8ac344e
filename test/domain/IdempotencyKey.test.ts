import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { IdempotencyKey, invalidKey } from "../../src/domain/IdempotencyKey.js"

describe("IdempotencyKey", () => {
  it("accepts 1 to 255 printable ASCII characters, spaces only inside", () => {
    for (const key of ["a", "~", "x".repeat(255), "order 42: retry #1", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]) {
      expect(invalidKey(key)).toBeUndefined()
      expect(Schema.is(IdempotencyKey)(key)).toBe(true)
    }
  })

  it("says what is wrong with a key that is not valid", () => {
    expect(invalidKey("")).toBe("it is empty")
    expect(invalidKey("x".repeat(256))).toBe("it has 256 characters")
    expect(invalidKey("caf\u00e9")).toBe("its character 4 is U+00E9, not printable ASCII")
    expect(invalidKey("a\tb")).toBe("its character 2 is U+0009, not printable ASCII")
    expect(invalidKey("a\u007f")).toBe("its character 2 is U+007F, not printable ASCII")
    expect(invalidKey(" a")).toBe("it starts with a space")
    expect(invalidKey("a ")).toBe("it ends with a space")
    expect(invalidKey(" ")).toBe("it starts with a space")
    const decoded = Schema.decodeUnknownEither(IdempotencyKey)("a ")
    expect(Either.isLeft(decoded) && decoded.left.message).toContain(
      "must be 1 to 255 printable ASCII characters (space to ~), not starting or ending with a space; it ends with a space"
    )
  })

  it("its JSON Schema pattern agrees with the check", () => {
    const pattern = new RegExp("^[!-~]([ -~]*[!-~])?$")
    for (const key of ["a", " a", "a ", "a b", "", "caf\u00e9", "ab", "~ ~"]) {
      expect(pattern.test(key)).toBe(invalidKey(key) === undefined)
    }
  })
})
