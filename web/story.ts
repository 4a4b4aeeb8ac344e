// A story typed into the form, as the submit body's segments: one segment per paragraph (text between blank lines).

export interface SegmentInput {
  readonly segment_id: string
  readonly text: string
}

/** Splits `story` at blank lines into segments s1, s2, …; blank paragraphs are dropped, others trimmed. */
export const toSegments = (story: string): ReadonlyArray<SegmentInput> =>
  story
    .split(/\r?\n[ \t]*\r?\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== "")
    .map((text, i) => ({ segment_id: `s${i + 1}`, text }))
