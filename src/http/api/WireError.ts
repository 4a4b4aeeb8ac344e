import { HttpApiSchema } from "@effect/platform"
import { ParseResult, Schema, String } from "effect"

// Every error body is `{ "error": <its tag>, "message": <a sentence a person can act on>, ...its fields }`, the fields
// in snake_case. Errors are `Schema.TaggedError` classes, defined once (the domain's where they arise, HTTP's own in
// src/http); this derives each one's wire form from its fields, so no error spells out its body, encode or decode.

/** A `Schema.TaggedError` class, as this module uses it: its schema, its tag and its fields. */
export interface ErrorClass<A, I> extends Schema.Schema<A, I> {
  readonly _tag: string
  readonly fields: Schema.Struct.Fields
}

/** Any error: what every body is built from. */
export interface Tagged {
  readonly _tag: string
  readonly message: string
}

/** An error body as sent: `error`, `message`, then the error's fields by their wire names. */
export type Body = { readonly error: string; readonly message: string; readonly [field: PropertyKey]: unknown }

/**
 * Wire schemas for fields whose wire form differs from the error's own encoding (epoch millis sent as ISO text),
 * by the field's name: each decodes to what the error's schema reads, so only its encoded form can differ.
 */
export type Overrides<I, O> = {
  readonly [K in keyof O]: K extends keyof I ? Schema.Schema<I[K], Schema.Schema.Encoded<O[K]>> : never
}

/**
 * The wire form of `error`, mapped to and from the very same value: encoding runs the error's own schema, then
 * renames its fields; decoding renames them back and builds the error with its own schema.
 */
export const make = <A extends Tagged, I extends { readonly [field: string]: unknown }, O extends Overrides<I, O>>(
  error: ErrorClass<A, I>,
  options: {
    /** The status the endpoint answers it with; omitted where the caller sets the status itself. */
    readonly status?: number
    readonly description?: string
    readonly fields?: O
  } = {}
): Schema.Schema<A, Body> => {
  const { fields, ...annotations } = options
  const overrides: { readonly [name: string]: Schema.Schema.AnyNoContext | undefined } = fields ?? {}
  // `message` is always the second key, whether it is a field or made from the fields.
  const names = Object.keys(error.fields).filter((name) => name !== "_tag" && name !== "message")
  const wireFields: { readonly [name: string]: Schema.Schema.AnyNoContext } = Object.fromEntries(
    names.map((name) => [String.camelToSnake(name), overrides[name] ?? wireField(error, name)])
  )
  const body = Schema.Struct({ error: Schema.Literal(error._tag), message: Schema.String }).pipe(
    Schema.extend(Schema.Struct(wireFields)),
    Schema.annotations({ identifier: `${error._tag}Response` })
  )
  const ownMessage = "message" in error.fields
  return Schema.transformOrFail(body, Schema.typeSchema(error), {
    strict: true,
    decode: (wire, parseOptions) =>
      ParseResult.decodeUnknown(error)(
        {
          _tag: error._tag,
          ...(ownMessage ? { message: wire.message } : {}),
          ...Object.fromEntries(names.map((name) => [name, wire[String.camelToSnake(name)]]))
        },
        parseOptions
      ),
    encode: (value, parseOptions) =>
      ParseResult.map(ParseResult.encodeUnknown(error)(value, parseOptions), (encoded) => ({
        error: error._tag,
        message: value.message,
        ...Object.fromEntries(names.map((name) => [String.camelToSnake(name), encoded[name]]))
      }))
  }).annotations(HttpApiSchema.annotations(annotations))
}

/** A field as the error's schema encodes it (its refinements kept, for the API description). */
const wireField = <A, I>(error: ErrorClass<A, I>, name: string) => {
  const field = error.fields[name]
  if (Schema.isSchema(field)) return Schema.encodedBoundSchema(field)
  // No error has an optional field yet; its wire form (optional too) would need its own case here.
  throw new Error(`WireError: ${error._tag}.${name} is optional, which the wire form does not handle yet`)
}
