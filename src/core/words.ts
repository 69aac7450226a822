/** Small pieces of English for messages: counted nouns, and the known name a typo was probably meant as. */

/** "1 record", "2 records", "3 witnesses"; `show` writes the number (e.g. with thousands separators). */
export const plural = (n: number, word: string, show: (n: number) => string = String): string => `${show(n)} ${word}${n === 1 ? '' : /(s|sh|ch|x)$/.test(word) ? 'es' : 's'}`

/** A size in bytes as a person reads it: "812 B", "4.3 KiB", "4.3 MiB", "1.2 GiB" (binary units, one decimal). */
export function byteSize(b: number): string {
  if (b < 1024) return `${b} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = b / 1024
  let i = 0
  // Rounded first, so 1023.96 KiB reads as 1.0 MiB, not 1024.0 KiB.
  while (Number(v.toFixed(1)) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}

/** A word as a POSIX shell reads it back: as it is when it holds nothing the shell treats specially, else in single quotes. */
export const shellWord = (s: string): string => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)

/**
 * A file path as an argument of a command such as `tail` or `head`: as shellWord writes it, and a
 * relative path that starts with - behind ./, so the command reads it as a file, not as an option.
 */
export const shellPath = (p: string): string => shellWord(p.startsWith('-') ? `./${p}` : p)

/** Edit distance (insertions, deletions, substitutions, and swaps of two neighbours). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The known names nearest to a word, nearest first (at most `max`). By default only those close
 * enough to be a typo of it (within a third of its length, 2 edits for short words); with `any`,
 * the nearest whatever the distance, for lists short enough that any of them may be meant; with
 * `within`, those at most that many edits away.
 */
export function closest(word: string, known: Iterable<string>, opts: {max?: number; any?: boolean; within?: number} = {}): string[] {
  const w = word.toLowerCase()
  const max = opts.max ?? 3
  const limit = opts.any ? Infinity : (opts.within ?? Math.max(2, Math.floor(w.length / 3)))
  return [...new Set(known)]
    .map((k) => ({k, d: distance(w, k.toLowerCase())}))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : 1))
    .slice(0, max)
    .map((x) => x.k)
}
