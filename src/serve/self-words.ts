/**
 * A daemon's answer in the words the user typed. Over `--remote` the CLI puts the caller's key in
 * for self before sending a lens (to the daemon, self is its own key), so the daemon echoes
 * `agent:<64 hex>` where the user wrote `agent:self` or `self`: in the lens it reports, its
 * explanations and notes, its errors. This puts the user's words back, so the answer reads (and
 * its JSON is) what the same query gives locally. Only the texts a lens or its error echoes are
 * rewritten, never values or record fields, which may hold any text.
 */
import {UserError} from '../core/errors.js'
import {typedIndex} from '../lenses/expression.js'
import type {Verdict} from '../claims/verdict.js'
import type {ConflictsResult} from '../ops/conflicts.js'
import type {QueryResult} from '../ops/query.js'
import type {VerifyReport} from '../ops/verify-request.js'

/** A lens as the user typed it and as it was sent, with the key put in for self. */
export interface SentLens {
  typed: string
  sent: string
}

/** How the lens parser reports a malformed expression (src/lenses/expression.ts `bad`). */
const MALFORMED = /malformed lens expression ("(?:[^"\\]|\\.)*"): (.*?) at column (\d+)/g

export class SelfWords {
  private readonly lenses: SentLens[]

  constructor(
    private readonly key: string,
    lenses: SentLens[],
  ) {
    // Longest first, so a lens sent inside another's text is not replaced in part.
    this.lenses = lenses.filter((l) => l.sent !== l.typed).sort((a, b) => b.sent.length - a.sent.length)
  }

  /** A text from the daemon with the user's words for self put back. */
  text(s: string): string {
    if (!this.lenses.length || !s.includes(this.key)) return s
    const k = this.key
    for (const l of this.lenses) {
      // A parse error points at a column of the text sent: moved to the same place in the text typed.
      s = s.replace(MALFORMED, (all, quoted: string, what: string, col: string) => {
        if (JSON.parse(quoted) !== l.sent) return all
        return `malformed lens expression ${JSON.stringify(l.typed)}: ${what} at column ${typedIndex(l.typed, k, Number(col) - 1) + 1}`
      })
      s = s.replaceAll(JSON.stringify(l.sent), JSON.stringify(l.typed)).replaceAll(l.sent, l.typed)
    }
    // What lenses echo of what was put in for self: an agent filter's argument, and an authority
    // order's patterns (where self became agent:<key>; the lens calls the agent self when it was).
    s = s.replaceAll(`filter agent:${k} `, 'filter agent:self ')
    s = s.replace(new RegExp(`(comes from agent [0-9a-f]+), (which matches authority rank \\d+) \\("agent:${k}"\\)`, 'g'), '$1 (self), $2 ("self")')
    s = s.replace(/(no candidate matches the authority order \()([^)]*)\)/g, (_, head: string, order: string) => `${head}${order.split(', ').map((p) => (p === `agent:${k}` ? 'self' : p)).join(', ')})`)
    return s.replaceAll(`agent:${k}`, 'agent:self')
  }

  /** A daemon's error (a UserError) in the user's words. */
  error(e: unknown): unknown {
    if (!(e instanceof UserError) || !this.lenses.length) return e
    const message = this.text(e.message)
    const hint = e.hint === undefined ? undefined : this.text(e.hint)
    if (message === e.message && hint === e.hint) return e
    return new UserError(message, {code: e.code, exit: e.exit, hint, cause: e.cause, ...(e.at ? {at: e.at} : {})})
  }

  query(res: QueryResult): QueryResult {
    if (!this.lenses.length) return res
    const t = (s: string) => this.text(s)
    return {
      ...res,
      lens: t(res.lens),
      resolutions: res.resolutions.map((r) => ({...r, lens: t(r.lens), explanation: r.explanation.map(t)})),
      ...(res.notes ? {notes: res.notes.map(t)} : {}),
    }
  }

  conflicts(res: ConflictsResult): ConflictsResult {
    if (!this.lenses.length) return res
    return {...res, lens: this.text(res.lens), ...(res.notes ? {notes: res.notes.map((n) => this.text(n))} : {})}
  }

  verify(report: VerifyReport): VerifyReport {
    if (!this.lenses.length) return report
    const t = (s: string) => this.text(s)
    const verdict = (v: Verdict): Verdict => ({
      ...v,
      message: t(v.message),
      observed: v.observed.map((o) => (o.lens === undefined ? o : {...o, lens: t(o.lens)})),
      failures: v.failures.map((f) => ({...f, where: t(f.where), reason: t(f.reason)})),
      ...(v.unchecked ? {unchecked: {...v.unchecked, detail: t(v.unchecked.detail)}} : {}),
    })
    return {...report, verdicts: report.verdicts.map(verdict)}
  }
}
