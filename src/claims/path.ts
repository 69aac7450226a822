/** Dotted paths into parsed documents (`compilerOptions.strict`, `deps."@types/node"`, `items[0].name`). */

export type PathSegment = string | number

/** Parse `a.b[0]."c.d"`: dots separate keys, `[n]` indexes arrays, quotes allow dots and spaces in keys. */
export function parsePath(expr: string): PathSegment[] {
  const out: PathSegment[] = []
  let i = 0
  const n = expr.length
  if (n === 0) throw new Error('empty path')
  let expectKey = true
  while (i < n) {
    const c = expr[i]
    if (c === '.') {
      if (expectKey) throw new Error(`empty key at position ${i + 1}`)
      expectKey = true
      i++
    } else if (c === '[') {
      const close = expr.indexOf(']', i)
      if (close < 0) throw new Error(`unclosed "[" at position ${i + 1}`)
      const inner = expr.slice(i + 1, close).trim()
      if (/^\d+$/.test(inner)) out.push(Number(inner))
      else if (/^(["']).*\1$/.test(inner)) out.push(inner.slice(1, -1))
      else throw new Error(`"[${inner}]" is neither an index nor a quoted key`)
      expectKey = false
      i = close + 1
    } else if (c === '"' || c === "'") {
      if (!expectKey) throw new Error(`expected "." before the quoted key at position ${i + 1}`)
      const close = expr.indexOf(c, i + 1)
      if (close < 0) throw new Error(`unclosed quote at position ${i + 1}`)
      out.push(expr.slice(i + 1, close))
      expectKey = false
      i = close + 1
    } else {
      if (!expectKey) throw new Error(`expected "." at position ${i + 1}`)
      let j = i
      while (j < n && expr[j] !== '.' && expr[j] !== '[') j++
      out.push(expr.slice(i, j))
      expectKey = false
      i = j
    }
  }
  if (expectKey) throw new Error('the path ends with "."')
  return out
}

/** The value at a path, or undefined when any step is missing. */
export function getPath(doc: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = doc
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return undefined
      cur = cur[seg]
    } else {
      if (Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined
      cur = (cur as Record<string, unknown>)[seg]
    }
  }
  return cur
}

/** A path printed back in dotted form, quoting keys that need it. */
export function showPath(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z0-9_$-]+$/.test(s) ? (i ? '.' : '') + s : `${i ? '.' : ''}"${s}"`)).join('')
}

/**
 * Best-effort 1-based line where the last key of a path is written: the first occurrence of the key
 * (quoted, or followed by ":" or "=") after the occurrences of the keys before it. Parsers here do not
 * keep positions, and a line for "where" is worth an approximation.
 */
export function lineOfPath(text: string, path: readonly PathSegment[]): number | undefined {
  let from = 0
  let at = -1
  for (const seg of path) {
    if (typeof seg === 'number') continue
    const esc = seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    // `"key":` (JSON), `key:` (YAML), `key =` (TOML) and `[key]` / `[a.key]` (TOML table headers).
    const re = new RegExp(`(["']${esc}["']\\s*[:=\\]]|(^|[\\s{,.[])${esc}\\s*[:=\\]])`, 'mg')
    re.lastIndex = from
    const m = re.exec(text)
    if (!m) break
    at = m.index + (m[0].length - m[0].trimStart().length)
    from = re.lastIndex
  }
  return at < 0 ? undefined : lineAt(text, at)
}

/** 1-based line number of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++
  return line
}

/** JSON with comments and trailing commas (tsconfig.json, VS Code settings) to strict JSON, lines kept. */
export function stripJsonc(text: string): string {
  return dropTrailingCommas(dropComments(text))
}

/** Copy a JSON string literal starting at i (a quote); returns the index after it. */
function skipString(text: string, i: number): number {
  let j = i + 1
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
  return j + 1
}

function dropComments(text: string): string {
  let out = ''
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i]
    if (c === '"') {
      const j = skipString(text, i)
      out += text.slice(i, j)
      i = j
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? n : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else {
      out += c
      i++
    }
  }
  return out
}

function dropTrailingCommas(text: string): string {
  let out = ''
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i]
    if (c === '"') {
      const j = skipString(text, i)
      out += text.slice(i, j)
      i = j
      continue
    }
    if (c === ',') {
      let j = i + 1
      while (j < n && /\s/.test(text[j])) j++
      out += text[j] === '}' || text[j] === ']' ? ' ' : c
    } else out += c
    i++
  }
  return out
}
