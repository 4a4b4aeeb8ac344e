/**
 * A segment id: 1 to 64 letters, digits, `_` or `-`. Safe as a file name by construction, so a segment's audio
 * can live at `{task_id}/{segment_id}.wav`; the API validates it and the audio store checks it again.
 */
export const SEGMENT_ID = /^[A-Za-z0-9_-]{1,64}$/

export const isSegmentId = (id: string): boolean => SEGMENT_ID.test(id)
