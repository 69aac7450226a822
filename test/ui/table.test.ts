import {describe, expect, it} from 'vitest'
import {displayWidth, field, shown, table, tableRows, visible} from '../../src/ui/table.js'

describe('visible', () => {
  it('writes controls, DEL, C1, bidi controls and lone surrogates as JSON escapes', () => {
    expect(visible('esc2:\x1b[2Jx')).toBe('esc2:\\u001b[2Jx')
    expect(visible('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd')
    expect(visible('del\x7f c1\x9b nul\0')).toBe('del\\u007f c1\\u009b nul\\u0000')
    expect(visible('txt\u202egnp.exe \u2066x\u2069 \u200f')).toBe('txt\\u202egnp.exe \\u2066x\\u2069 \\u200f')
    expect(visible('line\u2028sep')).toBe('line\\u2028sep')
    expect(visible('lone \ud800 and \udc00')).toBe('lone \\ud800 and \\udc00')
  })

  it('leaves printable text alone: accents, CJK, emoji (with their joiners and selectors), backslashes', () => {
    for (const s of ['drug:café', 'drug:cafe\u0301', '字幕', '👨‍👩‍👧 ❤️ 🇫🇷', 'C:\\path', 'plain']) expect(visible(s)).toBe(s)
  })
})

describe('field', () => {
  it('writes a backslash as \\\\ and controls as visible() does, so a backslash and an n and a newline print apart', () => {
    expect(field('a\\nb')).toBe('a\\\\nb')
    expect(field('a\nb')).toBe('a\\nb')
    expect(field('C:\\path\\')).toBe('C:\\\\path\\\\')
    expect(field('esc2:\x1b[2Jx \u202e \ud800')).toBe('esc2:\\u001b[2Jx \\u202e \\ud800')
    // Read back as the body of a JSON string, each printed form is the text it came from.
    for (const s of ['a\\nb', 'a\nb', 'C:\\path\\', 'x\x1b[2J\t\u2028', '\\u001b']) expect(JSON.parse(`"${field(s)}"`)).toBe(s)
  })

  it('leaves text without backslashes or controls as it is, quotes included', () => {
    for (const s of ['drug:café', 'drug:cafe\u0301', '字幕', '👨‍👩‍👧 ❤️ 🇫🇷', 'a "quoted" name', 'plain']) expect(field(s)).toBe(s)
  })

  it('then visible() changes nothing: a composed line is escaped once', () => {
    for (const s of ['a\\nb', 'a\nb', 'x\x1b[2J\x7f\x9b']) expect(visible(field(s))).toBe(field(s))
  })
})

describe('displayWidth', () => {
  it('counts wide and fullwidth characters and emoji as 2 columns, combining marks as 0', () => {
    expect(displayWidth('abc')).toBe(3)
    expect(displayWidth('字幕')).toBe(4)
    expect(displayWidth('ＡＢ')).toBe(4)
    expect(displayWidth('cafe\u0301')).toBe(4)
    expect(displayWidth('😀')).toBe(2)
    expect(displayWidth('👨‍👩‍👧')).toBe(2)
    expect(displayWidth('é')).toBe(1)
  })
})

describe('table', () => {
  it('lines columns up by display width, with wide characters in them', () => {
    const out = table(['NAME', 'X'], [['字幕字幕', 1], ['ab', 2], ['cafe\u0301', 3]]).split('\n')
    // Every X column starts at the same terminal column: 8 columns of name, then two spaces.
    expect(out.map((l) => displayWidth(l.slice(0, l.lastIndexOf(' ') + 1)))).toEqual([10, 10, 10, 10])
  })

  it('cuts a long cell at a grapheme, never inside an emoji or a wide character, and fills the column', () => {
    const long = '😀'.repeat(40)
    const [, row] = table(['A', 'B'], [[long, 'x']]).split('\n')
    const cell = row.slice(0, row.length - 3)
    expect(displayWidth(cell)).toBe(60)
    expect(cell).toMatch(/^(😀)+… $/u) // 29 emoji (58 columns), the ellipsis, one space
    expect(cell.isWellFormed()).toBe(true)
    const [, cjk] = table(['A'], [['字'.repeat(70)]]).split('\n')
    expect(cjk).toBe('字'.repeat(29) + '…') // 59 columns: a wide character does not fit in the 60th
  })

  it('escapes what a cell holds, so a row stays one line and the terminal is not driven by it', () => {
    const out = table(['WHAT'], [['esc2:\x1b[2Jx pr\x1b[1m'], ['a\nb']])
    expect(out).not.toMatch(/[\x1b\x00-\x09\x0b-\x1f]/)
    expect(out.split('\n')).toEqual(['WHAT', 'esc2:\\u001b[2Jx pr\\u001b[1m', 'a\\nb'])
  })

  it('takes a listing of any length: a column of 300,000 rows is measured without overflowing the stack', () => {
    // `steme conflicts` lists 242,070 contested pairs of the 1M-record bench store.
    const rows = Array.from({length: 300_000}, (_, i) => [`item:${i}`, i])
    const out = table(['SUBJECT', 'N'], rows)
    expect(out.split('\n')).toHaveLength(300_001)
    expect(out.split('\n')[300_000]).toBe('item:299999  299999')
  })
})

describe('table cells: fields and shown text', () => {
  it('prints a string cell as a field (a backslash doubled) and a shown cell (a JSON value) with its escapes as they are', () => {
    const value = JSON.stringify('v\\n')
    const out = table(['SOURCE', 'VALUE'], [['src\\n1', shown(value)], ['src\n1', shown(JSON.stringify('v\n'))], ['s\x1b[8m', shown('"w\x7f"')]]).split('\n')
    expect(out).toEqual(['SOURCE      VALUE', 'src\\\\n1     "v\\\\n"', 'src\\n1      "v\\n"', 's\\u001b[8m  "w\\u007f"'])
  })

  it('sizes the columns by the text printed, escapes and wide characters included', () => {
    const out = table(['NAME', 'X'], [['字幕\\字幕', 1], ['a\nb', 2], [shown('"字\\n"'), 3]]).split('\n')
    expect(out).toEqual(['NAME        X', '字幕\\\\字幕  1', 'a\\nb        2', '"字\\n"      3'])
    expect(out.map((l) => displayWidth(l.slice(0, l.lastIndexOf(' ') + 1)))).toEqual([12, 12, 12, 12])
  })
})

describe('tableRows', () => {
  it('pads and cuts to widths fixed beforehand, so batches printed one after another line up; the last column is cut at 60', () => {
    const first = tableRows([6, 4, 60], [['HLC', 'ID', 'WHAT'], ['000001', 'abcd', 'x']])
    const next = tableRows([6, 4, 60], [['000002', 'ef', 'y'.repeat(70)], ['字字字字', 'ab', 'a\nb']])
    expect(`${first}\n${next}`.split('\n')).toEqual(['HLC     ID    WHAT', '000001  abcd  x', `000002  ef    ${'y'.repeat(59)}…`, '字字…   ab    a\\nb'])
  })
})

