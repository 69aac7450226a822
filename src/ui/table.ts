/** Plain-text tables for human output (no colour in pipes). */

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => String(c)))]
  const widths = headers.map((_, i) => Math.min(60, Math.max(...cells.map((r) => (r[i] ?? '').length))))
  const fit = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w))
  return cells.map((r) => r.map((c, i) => fit(c ?? '', widths[i])).join('  ').trimEnd()).join('\n')
}

export const bold = (s: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1m${s}\x1b[22m` : s)
export const dim = (s: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[2m${s}\x1b[22m` : s)

/**
 * The answer cell of a resolution: the winner, marked when it won only on the smallest-id
 * tie-break (so a tie never reads as decided), else why there is none.
 */
export const answerCell = (winner: string | undefined, status: string): string => (winner === undefined ? `(none: ${status})` : status === 'tie' ? `${winner} (tie)` : winner)
