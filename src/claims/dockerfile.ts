/**
 * Dockerfile instructions as BuildKit reads them: the `# escape=` directive, `\` continuations,
 * comment lines and heredoc bodies, so only real instructions are seen. Just enough for the
 * built-in extractor; no variable expansion (`FROM $BASE` stays as written).
 */

export interface Instruction {
  /** Upper-cased: FROM, RUN... */
  keyword: string
  /** The arguments, continuations joined (escape character and line break removed). */
  args: string
  /** The 1-based line a character of `args` was written on. */
  lineAt(offset: number): number
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD'])

/** The instructions of a Dockerfile, in order. */
export function instructions(text: string): Instruction[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  let escape = '\\'
  let i = 0
  // Parser directives only count at the very top, before any comment, blank line or instruction.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i].trim())
    if (!m) break
    if (m[1].toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) escape = m[2]
  }
  const continued = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`)
  const isComment = (l: string) => l.trimStart().startsWith('#')

  const out: Instruction[] = []
  while (i < lines.length) {
    const first = lines[i].trimStart()
    if (first === '' || isComment(first)) {
      i++
      continue
    }
    // Join continuation lines; comment and blank lines inside a continuation are dropped, as BuildKit does.
    let joined = ''
    const starts: {at: number; line: number}[] = []
    for (; i < lines.length; i++) {
      const l = lines[i].trimStart()
      if (joined !== '' && (l === '' || isComment(l))) continue
      starts.push({at: joined.length, line: i + 1})
      if (!continued.test(l)) {
        joined += l
        i++
        break
      }
      joined += l.replace(continued, '')
    }
    const kw = /^(\S+)\s*/.exec(joined)
    if (!kw) continue
    const keyword = kw[1].toUpperCase()
    const base = kw[0].length
    out.push({
      keyword,
      args: joined.slice(base),
      lineAt: (offset) => starts.findLast((s) => s.at <= base + offset)!.line,
    })
    // Heredoc bodies follow the instruction, one after the other, each up to its terminator line.
    if (HEREDOC_KEYWORDS.has(keyword)) {
      for (const h of heredocs(joined.slice(base))) {
        for (; i < lines.length; i++) {
          const l = h.stripTabs ? lines[i].replace(/^\t+/, '') : lines[i]
          if (l === h.end) {
            i++
            break
          }
        }
      }
    }
  }
  return out
}

/**
 * The heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`) among an instruction's words, as
 * BuildKit finds them: a word that starts with `<<` (after an optional fd number), so `"<<EOF"`
 * (a quoted string) and `<<<word` (a here-string) are not heredocs.
 */
function heredocs(args: string): {end: string; stripTabs: boolean}[] {
  const found: {end: string; stripTabs: boolean}[] = []
  for (const w of words(args)) {
    const m = /^\d*<<(-?)([^<]+)$/.exec(w)
    if (!m) continue
    const q = /^(["'])(.*)\1$/.exec(m[2])
    found.push({end: q ? q[2] : m[2], stripTabs: m[1] === '-'})
  }
  return found
}

/** Shell-like words, quotes and backslash escapes kept as written (BuildKit lexes heredocs with a backslash escape whatever the directive says). */
function words(s: string): string[] {
  const out: string[] = []
  let w = ''
  let quote = ''
  for (let k = 0; k < s.length; k++) {
    const c = s[k]
    if (c === '\\' && quote !== "'" && k + 1 < s.length) {
      w += c + s[++k]
    } else if (quote) {
      if (c === quote) quote = ''
      w += c
    } else if (c === ' ' || c === '\t') {
      if (w) out.push(w)
      w = ''
    } else {
      if (c === '"' || c === "'") quote = c
      w += c
    }
  }
  if (w) out.push(w)
  return out
}

/** A FROM instruction's image and stage name, skipping flags such as `--platform=...`. */
export function fromOf(ins: Instruction): {image: string; line: number; stage?: string} | undefined {
  const tokens = [...ins.args.matchAll(/\S+/g)].filter((t) => !t[0].startsWith('--'))
  if (tokens.length === 0) return undefined
  const [image, as, stage] = tokens
  return {image: image[0], line: ins.lineAt(image.index), ...(as && /^as$/i.test(as[0]) && stage ? {stage: stage[0]} : {})}
}
