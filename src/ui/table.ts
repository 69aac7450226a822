/** Plain-text tables for human output (no colour in pipes), every cell made safe to print and measured as a terminal draws it. */
import {eastAsianWidth} from 'get-east-asian-width'
import {field, visible} from '../core/text.js'
import {colorOn} from './color.js'

export {field, visible}

/** A cell already composed for display (JSON-quoted values, fields put in with field()): printed through visible() only. */
export class Shown {
  constructor(readonly text: string) {}
}
export const shown = (text: string): Shown => new Shown(text)

/**
 * A table cell: a string is a field, printed bare through field() (a backslash shows as `\\`, a
 * newline as `\n`); a number prints as it is; a Shown cell holds text composed for display, such
 * as a JSON-quoted value, which must not be escaped again.
 */
export type Cell = string | number | Shown

const cellText = (c: Cell): string => (c instanceof Shown ? visible(c.text) : typeof c === 'number' ? String(c) : field(c))

const PLAIN = /^[\x20-\x7e]*$/
const ZERO = /^[\p{Mark}\p{Default_Ignorable_Code_Point}]/u
// Built at first use: compiling the emoji set takes 12-18 ms, a tenth of a query's start, and
// most tables hold only printable ASCII.
let emoji: RegExp | undefined
let graphemes: Intl.Segmenter | undefined

function* clusters(s: string): Generator<string> {
  graphemes ??= new Intl.Segmenter(undefined, {granularity: 'grapheme'})
  for (const g of graphemes.segment(s)) yield g.segment
}

/** Columns one grapheme takes: 2 for East Asian wide or fullwidth and emoji, 0 for a lone combining mark. */
function clusterWidth(g: string): number {
  if ((emoji ??= new RegExp('^\\p{RGI_Emoji}$', 'v')).test(g)) return 2
  if (ZERO.test(g)) return 0
  return eastAsianWidth(g.codePointAt(0)!, {ambiguousAsWide: false})
}

/** Columns a (visible) string takes on a terminal, as its graphemes are drawn. */
export function displayWidth(s: string): number {
  if (PLAIN.test(s)) return s.length
  let w = 0
  for (const g of clusters(s)) w += clusterWidth(g)
  return w
}

/** The string in exactly `w` columns: padded, or cut at a grapheme boundary with an ellipsis. */
function fit(s: string, w: number): string {
  const width = displayWidth(s)
  if (width <= w) return s + ' '.repeat(w - width)
  let out = ''
  let used = 0
  for (const g of clusters(s)) {
    const gw = clusterWidth(g)
    if (used + gw > w - 1) break
    out += g
    used += gw
  }
  return out + '…' + ' '.repeat(w - 1 - used)
}

/**
 * Columns are cut at 60 so one long value does not push the others off the screen; the columns in
 * `whole` (a key that is copied and pasted elsewhere) are never cut.
 */
export function table(headers: string[], rows: Cell[][], opts: {whole?: number[]} = {}): string {
  const cells = [headers, ...rows.map((r) => r.map(cellText))]
  // A loop, not Math.max(...column): spread arguments overflow the stack at a few hundred thousand rows.
  const widths = headers.map((_, i) => {
    let w = 0
    for (const r of cells) w = Math.max(w, displayWidth(r[i] ?? ''))
    return Math.min(opts.whole?.includes(i) ? Infinity : 60, w)
  })
  return lines(cells, widths)
}

/**
 * Rows of a table whose column widths are fixed beforehand, so a long listing can be printed a
 * batch at a time as it is read: each cell padded or cut to its width, the last cut at 60.
 */
export function tableRows(widths: readonly number[], rows: Cell[][]): string {
  return lines(
    rows.map((r) => r.map(cellText)),
    widths.map((w, i) => (i === widths.length - 1 ? 60 : w)),
  )
}

/**
 * Widens `widths` to fit `rows` as table() measures them (every column cut at 60): for a table
 * printed a batch at a time through tableRows, its widths measured over all its rows first.
 */
export function widen(widths: number[], rows: Cell[][]): void {
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.min(60, Math.max(widths[i] ?? 0, displayWidth(cellText(c))))))
}

const lines = (cells: string[][], widths: readonly number[]): string => cells.map((r) => r.map((c, i) => fit(c ?? '', widths[i])).join('  ').trimEnd()).join('\n')

export const bold = (s: string) => (colorOn() ? `\x1b[1m${s}\x1b[22m` : s)
export const dim = (s: string) => (colorOn() ? `\x1b[2m${s}\x1b[22m` : s)

/**
 * The answer cell of a resolution: the winner (its value as canonical JSON), marked when it won
 * only on the smallest-id tie-break (so a tie never reads as decided), else why there is none.
 */
export const answerCell = (winner: string | undefined, status: string): Shown => shown(winner === undefined ? `(none: ${status})` : status === 'tie' ? `${winner} (tie)` : winner)
