/**
 * Dockerfile instructions as BuildKit reads them: the `# escape=` directive, `\` continuations,
 * comment lines and heredoc bodies, so only real instructions are seen; and the global ARGs a
 * FROM line expands. Just enough for the built-in extractor.
 */

export interface Instruction {
  /** Upper-cased: FROM, RUN... */
  keyword: string
  /** The arguments, continuations joined (escape character and line break removed). */
  args: string
  /** The 1-based line a character of `args` was written on. */
  lineAt(offset: number): number
  /** The escape character (`\\`, or the `# escape=` directive's). */
  escape: string
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
      escape,
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

/**
 * A global ARG as `docker build` without --build-arg sees it: its default; unset (declared with no
 * default, so only a --build-arg gives it a value); or set to a value not known offline.
 */
export type ArgValue = {value: string} | {unset: string} | {unknown: string}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/
const NOT_OFFLINE = 'is set by the builder for the platform it builds (not known offline)'
const PLATFORM_ARGS = ['BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT', 'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT']

/**
 * The ARGs declared before the first FROM: Docker's global scope, the only ARGs a FROM line can
 * use (an ARG inside a stage does not reach them). Defaults are expanded in order, as BuildKit does.
 */
export function globalArgs(all: readonly Instruction[]): Map<string, ArgValue> {
  const args = new Map<string, ArgValue>(PLATFORM_ARGS.map((n) => [n, {unknown: `$${n} ${NOT_OFFLINE}`}]))
  for (const ins of all) {
    if (ins.keyword === 'FROM') break
    if (ins.keyword !== 'ARG') continue
    for (const w of words(ins.args)) {
      const eq = w.indexOf('=')
      const name = eq < 0 ? w : w.slice(0, eq)
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue
      if (eq < 0) {
        args.set(name, {unset: `$${name} is an ARG with no default, so its value would come from --build-arg (not known offline)`})
        continue
      }
      const v = expand(w.slice(eq + 1), args, ins.escape)
      args.set(name, 'value' in v ? v : {unknown: v.unknown})
    }
  }
  return args
}

/**
 * A word as `docker build` without --build-arg expands it: quotes removed, and `$NAME`, `${NAME}`,
 * `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}` replaced. A plain reference to
 * an ARG with no value known offline, or an expansion not evaluated here, gives `unknown`: why.
 */
export function expand(word: string, args: ReadonlyMap<string, ArgValue>, escape = '\\'): {value: string} | {unknown: string} {
  let out = ''
  let quote = ''
  for (let i = 0; i < word.length; i++) {
    const c = word[i]
    if (quote === "'") {
      if (c === "'") quote = ''
      else out += c
    } else if (c === escape && i + 1 < word.length) out += word[++i]
    else if (c === '"') quote = quote ? '' : '"'
    else if (c === "'" && !quote) quote = "'"
    else if (c !== '$') out += c
    else {
      const r = reference(word, i + 1, args, escape)
      if (!r) out += c
      else if ('unknown' in r) return r
      else {
        out += r.value
        i = r.end - 1
      }
    }
  }
  return {value: out}
}

/** The variable reference after a `$` at `at`: its expansion and where it ends, or undefined for a literal `$`. */
function reference(word: string, at: number, args: ReadonlyMap<string, ArgValue>, escape: string): {value: string; end: number} | {unknown: string} | undefined {
  const plain = NAME.exec(word.slice(at))
  if (plain) return lookup(plain[0], args, at + plain[0].length)
  if (word[at] !== '{') return undefined
  const name = NAME.exec(word.slice(at + 1))?.[0]
  const close = closingBrace(word, at + 1)
  if (!name || close < 0) return {unknown: `\${${word.slice(at + 1, close < 0 ? undefined : close)}} is an expansion steme does not evaluate`}
  const rest = word.slice(at + 1 + name.length, close)
  if (rest === '') return lookup(name, args, close + 1)
  const m = /^(:?)([-+])([\s\S]*)$/.exec(rest)
  if (!m) return {unknown: `\${${name}${rest}} is an expansion steme does not evaluate`}
  const [, colon, op, alt] = m
  const a = args.get(name)
  if (a && 'unknown' in a) return a
  // Set (for `:`, also non-empty) picks the value for `-` and the word for `+`.
  const value = a && 'value' in a ? a.value : undefined
  const set = value !== undefined && (colon === '' || value !== '')
  if (op === '-' && set) return {value, end: close + 1}
  if (op === '+' && !set) return {value: '', end: close + 1}
  const w = expand(alt, args, escape)
  return 'unknown' in w ? w : {value: w.value, end: close + 1}
}

function lookup(name: string, args: ReadonlyMap<string, ArgValue>, end: number): {value: string; end: number} | {unknown: string} {
  const a = args.get(name)
  if (!a) return {unknown: `$${name} is not declared by an ARG before the first FROM (only those reach FROM lines)`}
  if ('value' in a) return {value: a.value, end}
  return {unknown: 'unset' in a ? a.unset : a.unknown}
}

/** The index of the `}` closing the `${` whose name starts at `from`, nested references counted; -1 when there is none. */
function closingBrace(word: string, from: number): number {
  let depth = 0
  for (let i = from; i < word.length; i++) {
    if (word[i] === '$' && word[i + 1] === '{') {
      depth++
      i++
    } else if (word[i] === '}') {
      if (depth === 0) return i
      depth--
    }
  }
  return -1
}
