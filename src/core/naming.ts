/**
 * How a message names an input the user gave. The CLI's flags and the daemon's query parameters
 * are the same words (`--valid-at` and `valid-at=`), so an op names an input once, by that word,
 * and its caller says how the input reached the user: an HTTP client cannot pass `--valid-at`.
 */
export type Naming = 'flags' | 'params'

/** An input as messages name it: `--valid-at` (flags, the default), or `query parameter valid-at` (params). */
export function inputName(input: string, naming: Naming = 'flags'): string {
  return naming === 'params' ? `query parameter ${input}` : `--${input}`
}
