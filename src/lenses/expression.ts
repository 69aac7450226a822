/**
 * The lens expression language: filters narrow the candidates, then a fallback chain of lenses
 * resolves them. Grammar (docs/lenses.md has the full story):
 *
 *   expression := item (joiner item)*
 *   joiner     := "," | "then" | "else" | ", then" | ", else"
 *   item       := filter | lens
 *   filter     := NAME ":" ARG                  e.g. epoch:current  source:fda:*  agent:self
 *   lens       := NAME [ "(" NAME "=" ARG ("," NAME "=" ARG)* ")" ]
 *   ARG        := a bare word (no spaces, commas or parentheses) | a "double-quoted string"
 *
 * Filters come before lenses; lenses are joined by `else` (a bare comma between two lenses is
 * an error, so a chain's order is never ambiguous).
 */
import {UserError} from '../core/errors.js'
import {field} from '../core/text.js'

export interface FilterStep {
  filter: string
  arg: string
}
export interface LensStep {
  lens: string
  params: Record<string, string>
}
export interface Expression {
  text: string
  filters: FilterStep[]
  chain: LensStep[]
}

type Tok = {t: 'word' | 'str' | 'punct'; v: string; at: number; end: number}

function tokenize(text: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '"') {
      let j = i + 1
      let v = ''
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++
        v += text[j++]
      }
      if (j >= text.length) throw bad(text, i, 'a quoted string is not closed')
      out.push({t: 'str', v, at: i, end: j + 1})
      i = j + 1
      continue
    }
    if ('(),='.includes(c)) {
      out.push({t: 'punct', v: c, at: i, end: i + 1})
      i++
      continue
    }
    let j = i
    // A word runs to whitespace or punctuation; ':' stays inside it (filter args like fda:*).
    while (j < text.length && !/\s/.test(text[j]) && !'(),="'.includes(text[j])) j++
    out.push({t: 'word', v: text.slice(i, j), at: i, end: j})
    i = j
  }
  return out
}

function bad(text: string, at: number, what: string): UserError {
  return new UserError(`malformed lens expression ${JSON.stringify(text)}: ${what} at column ${at + 1}`, {
    hint: 'write filters then lenses, e.g. "epoch:current, then trust, else recency"; see docs/lenses.md',
  })
}

/** Parse an expression; names are checked against the known lenses and filters. */
export function parseExpression(text: string, known: {lenses: readonly string[]; filters: readonly string[]}): Expression {
  const toks = tokenize(text)
  if (toks.length === 0) throw new UserError('empty lens expression', {hint: `name a lens: ${known.lenses.join(', ')}`})
  const filters: FilterStep[] = []
  const chain: LensStep[] = []
  let i = 0
  let joiner: string | undefined = 'start'
  while (i < toks.length) {
    const tok = toks[i]
    if (joiner === undefined) throw bad(text, tok.at, `expected ",", "then" or "else" before "${field(tok.v)}"`)
    if (tok.t !== 'word') throw bad(text, tok.at, `expected a lens or filter, got "${field(tok.v)}"`)
    const colon = tok.v.indexOf(':')
    if (colon >= 0) {
      const name = tok.v.slice(0, colon)
      let arg = tok.v.slice(colon + 1)
      i++
      if (arg === '' && toks[i]?.t === 'str') arg = toks[i++].v
      if (!known.filters.includes(name)) throw new UserError(`unknown filter "${field(name)}" in lens expression ${JSON.stringify(text)}`, {hint: `known filters: ${known.filters.join(', ')}`})
      if (arg === '') throw bad(text, tok.at, `filter "${field(name)}:" needs an argument`)
      if (chain.length) throw bad(text, tok.at, `filter "${field(tok.v)}" comes after a lens; filters narrow the candidates before any lens resolves them`)
      if (joiner === 'else') throw bad(text, tok.at, '"else" joins lenses, not filters')
      filters.push({filter: name, arg})
    } else {
      const name = tok.v
      if (!known.lenses.includes(name)) {
        if (['then', 'else'].includes(name)) throw bad(text, tok.at, `"${name}" needs a lens or filter on both sides`)
        throw new UserError(`unknown lens "${field(name)}" in lens expression ${JSON.stringify(text)}`, {hint: `known lenses: ${known.lenses.join(', ')}`})
      }
      if (chain.length && joiner !== 'else') throw bad(text, tok.at, `lens "${field(name)}" follows another lens without "else"`)
      i++
      const params: Record<string, string> = {}
      if (toks[i]?.v === '(' && toks[i].t === 'punct') {
        i++
        for (;;) {
          const k = toks[i]
          if (k?.t === 'punct' && k.v === ')' && Object.keys(params).length === 0) break
          if (k?.t !== 'word') throw bad(text, k?.at ?? text.length, `expected a parameter name in ${field(name)}(...)`)
          if (toks[i + 1]?.v !== '=') throw bad(text, toks[i + 1]?.at ?? text.length, `expected "=" after ${field(k.v)}`)
          const v = toks[i + 2]
          if (!v || v.t === 'punct') throw bad(text, v?.at ?? text.length, `expected a value for ${field(k.v)}`)
          params[k.v] = v.v
          i += 3
          if (toks[i]?.v === ',') i++
          else break
        }
        if (toks[i]?.v !== ')') throw bad(text, toks[i]?.at ?? text.length, `expected ")" to close ${field(name)}(`)
        i++
      }
      chain.push({lens: name, params})
    }
    // Joiner: optional comma, then optional then/else.
    joiner = undefined
    if (toks[i]?.v === ',' && toks[i].t === 'punct') {
      joiner = ','
      i++
    }
    if (toks[i]?.t === 'word' && (toks[i].v === 'then' || toks[i].v === 'else')) {
      joiner = toks[i].v
      i++
    }
    if (i >= toks.length && joiner !== undefined) throw bad(text, text.length - 1, `the expression ends with "${joiner}"`)
  }
  if (chain.length === 0) throw new UserError(`lens expression ${JSON.stringify(text)} has filters but no lens`, {hint: `end it with a lens, e.g. ${JSON.stringify(`${text}, then recency`)}`})
  return {text, filters, chain}
}

/** `self` as one pattern of an authority order (space, `|` or `;` separated). */
const SELF_IN_ORDER = /(^|[\s|;])self(?=[\s|;]|$)/g

/**
 * Where an expression names the store's own key: the filter `agent:self` (or `agent:"self"`),
 * and `self` in an inline authority order. Each with the text that names an agent key instead.
 */
function selfRefs(text: string): Array<{at: number; end: number; by: (agent: string) => string}> {
  const toks = tokenize(text)
  const refs: Array<{at: number; end: number; by: (agent: string) => string}> = []
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i]
    if (tok.t !== 'word') continue
    if (tok.v === 'agent:self') refs.push({at: tok.at, end: tok.end, by: (agent) => `agent:${agent}`})
    else if (tok.v === 'agent:' && toks[i + 1]?.t === 'str' && toks[i + 1].v === 'self') refs.push({...toks[++i], by: (agent) => `"${agent}"`})
    else if (tok.v === 'authority' && toks[i + 1]?.t === 'punct' && toks[i + 1].v === '(') {
      // Its parameters, up to the closing parenthesis: only order names agents.
      for (i += 2; i < toks.length && !(toks[i].t === 'punct' && toks[i].v === ')'); i++) {
        const [k, eq, v] = [toks[i], toks[i + 1], toks[i + 2]]
        if (k.t !== 'word' || k.v !== 'order' || eq?.v !== '=' || eq.t !== 'punct' || !v || v.t === 'punct') continue
        i += 2
        if (!new RegExp(SELF_IN_ORDER.source).test(v.v)) continue
        const swap = (agent: string) => v.v.replace(SELF_IN_ORDER, (_, sep: string) => `${sep}agent:${agent}`)
        refs.push({at: v.at, end: v.end, by: v.t === 'word' ? swap : (agent) => `"${swap(agent).replace(/["\\]/g, '\\$&')}"`})
      }
    }
  }
  return refs
}

/** Whether an expression names the store's own key (`agent:self`, or `self` in an authority order); false when it does not tokenize. */
export function namesSelf(text: string): boolean {
  try {
    return selfRefs(text).length > 0
  } catch {
    return false
  }
}

/**
 * The expression with every name of the store's own key replaced by an agent key, the rest kept
 * as written. A client sends this to a daemon, where `self` would name the daemon's key.
 */
export function replaceSelf(text: string, agent: string): string {
  let out = text
  for (const r of selfRefs(text).reverse()) out = out.slice(0, r.at) + r.by(agent) + out.slice(r.end)
  return out
}

/**
 * For a position in `replaceSelf(text, agent)`, the position in `text` it came from (inside the
 * key put in for a name of self: where that name starts), so an error about the text sent can
 * point into the text as written.
 */
export function typedIndex(text: string, agent: string, sentIndex: number): number {
  let shift = 0
  for (const r of selfRefs(text)) {
    const by = r.by(agent).length
    const sentAt = r.at + shift
    if (sentIndex < sentAt) break
    if (sentIndex < sentAt + by) return r.at
    shift += by - (r.end - r.at)
  }
  return sentIndex - shift
}
