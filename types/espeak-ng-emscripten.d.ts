// The parts of @echogarden/espeak-ng-emscripten (which ships no types) that worker/espeak.mjs uses.
declare module "@echogarden/espeak-ng-emscripten" {
  interface Voice {
    readonly name: string
    readonly identifier: string
    readonly languages: ReadonlyArray<{ readonly priority: number; readonly name: string }>
  }
  class ESpeakNGWorker {
    /** 0 on success. */
    set_voice(name: string): number
    set_rate(wordsPerMinute: number): void
    get_samplerate(): number
    list_voices(): Array<Voice>
    /** Calls back with each chunk of 16-bit samples; a non-zero return stops synthesis. */
    synthesize(text: string, callback: (samples: Int16Array, events: ReadonlyArray<unknown>) => number): void
  }
  interface Engine {
    readonly eSpeakNGWorker: typeof ESpeakNGWorker
  }
  const initialize: () => Promise<Engine>
  export default initialize
}
