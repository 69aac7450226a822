/** A small HTTP client for `steme serve`, and a Store that writes through it, so assertOp and ingestOp run unchanged against a daemon. */
import type {IncomingHttpHeaders} from 'node:http'
import {UserError, type ErrorCode} from '../core/errors.js'
import {field} from '../core/text.js'
import {plural} from '../core/words.js'
import {Hlc, hlcBefore, parseHlc} from '../core/hlc.js'
import {canonicalBody, recordLine, type Sealed} from '../core/seal.js'
import {compareRecords, type Store, type StoreStats} from '../core/store.js'
import {BugError} from '../core/errors.js'
import type {LogInput, LogPage} from '../ops/log.js'
import type {QueryInput, QueryResult} from '../ops/query.js'
import type {ConflictRow, ConflictsInput, ConflictsListing, ConflictsPage, ConflictsResult} from '../ops/conflicts.js'
import {SortedRuns} from '../ops/sorted-runs.js'
import type {ShowResult} from '../ops/show.js'
import type {VerifyReport, VerifyRequest} from '../ops/verify-request.js'
import type {Observation} from '../claims/observation.js'
import {bodyOf, type SignedRecord} from '../core/record.js'
import {DEFAULT_CONFIG} from '../config.js'
import type {KeyPair} from '../core/sign.js'
import type {Deps} from '../ops/deps.js'
import type {ErrorBody} from './errors.js'
import type {RecordsResponse} from './routes/records.js'
import {SelfWords, type SentLens} from './self-words.js'
import {isUntrustedCert, UNTRUSTED_CERT_HINT, wrongScheme} from '../tls-trust.js'

/** Most records one GET /v1/log returns (the daemon's cap, and its default). */
export const LOG_MAX = 100_000

/**
 * Most pairs one GET /v1/conflicts returns, and how many it returns when the request names no
 * limit. Every page costs the daemon a whole pass over the contested pairs (ranking needs every
 * score), so the CLI asks for the largest: the bound is on what one answer holds (~30 MB of JSON
 * at most, as GET /v1/log's), not on that pass.
 */
export const CONFLICTS_MAX = 100_000
export const CONFLICTS_DEFAULT = 1000
/** Rows of a conflicts listing held in memory at most before they go to disk (as the local listing's RUN_ROWS). */
const CONFLICTS_RUN_ROWS = 20_000

/** Records per GET /v1/log when the CLI pages through a log: a page's JSON is held whole on both ends. */
const LOG_PAGE = 10_000

/**
 * What one POST /v1/verify takes: the daemon's observation limit (REQUEST_LIMITS.observations) and
 * its default body limit (32 MiB), less room for the request's own framing.
 */
export const VERIFY_LIMITS = {observations: 100_000, bytes: 32 * 1024 * 1024 - 64 * 1024}

/**
 * The most one POST /v1/records carries: a quarter of the daemon's default body limit. A daemon
 * advertises its own limit (the x-steme-body-limit header), and batches stay at half of that.
 */
export const RECORDS_POST_BYTES = 8 * 1024 * 1024

/** The header a daemon states its --body-limit in, in bytes. */
export const BODY_LIMIT_HEADER = 'x-steme-body-limit'

/**
 * The header asking the daemon to name inputs in its messages as the CLI's flags (`flags`:
 * `--valid-at`) rather than as its query parameters: this client sends it, so a user who typed a
 * flag reads the flag's name.
 */
export const NAMING_HEADER = 'x-steme-naming'

/**
 * The daemon's codes passed on as they are. `internal` among them: a bug on the daemon (or its
 * store's files failing on its host) is said as such, not as a failure to reach it.
 */
const CORE_CODES = new Set<string>(['usage', 'config', 'not_found', 'invalid_record', 'rejected', 'locked', 'no_store', 'no_key', 'integrity', 'conflict', 'unauthorized', 'forbidden', 'too_large', 'rate_limited', 'invalid_claims', 'no_space', 'internal'])

/**
 * What to do about a daemon's bug: its stack trace is in the daemon's log alone (never sent), under
 * the request id its message names.
 */
function daemonBugHint(url: string, message: string): string {
  const id = /under request id (\S+?)\)/.exec(message)?.[1]
  return `the bug is in the daemon at ${url}, not in this command: its log has the stack trace${id ? ` under request id ${id}` : ''}; please report it with that log entry and the command`
}

/** A claim's `lens = "…"` (or '…') on a line of its own, with an optional comment: the lens text is group 2. */
const LENS_LINE = /^(\s*lens\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')(\s*(?:#.*)?\r?)$/

/** Nothing was put in for self: the answer is shown as it came. */
const NO_WORDS = new SelfWords('', [])

/** Node's codes for a server certificate this machine does not trust, or that names another host. */

export class RemoteClient {
  readonly url: string
  constructor(
    url: string,
    private readonly token: string | undefined,
    /**
     * The caller's agent key, for `agent:self` in a lens: on the daemon, self would be the
     * daemon's key. Loaded only when a lens names self; throws when there is no key here.
     */
    private readonly self?: () => Promise<string>,
  ) {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new UserError(`--remote "${url}" is not a URL`, {hint: 'use the URL `steme serve` prints, e.g. http://127.0.0.1:7411'})
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError(`--remote "${url}" is not an http(s) URL`, {hint: 'use the URL `steme serve` prints'})
    // The base URL: one copied from a route (…/v1) would make every path /v1/v1/….
    this.url = u.origin + u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')
  }

  /** The daemon's body limit in bytes, once a response has stated it. */
  bodyLimit?: number

  async request<T>(method: string, path: string, opts: {query?: Record<string, string | number | boolean | undefined>; body?: string; type?: string} = {}): Promise<T> {
    const u = new URL(this.url + path)
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v))
    const headers: Record<string, string> = {accept: 'application/json', [NAMING_HEADER]: 'flags'}
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json'
    let res: {status: number; headers: IncomingHttpHeaders; text: string; complete: boolean}
    try {
      res = await send(u, method, headers, opts.body)
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      // An https:// URL to a plain daemon, or http:// to one serving TLS: asking again meets the same daemon.
      const wrong = await wrongScheme(u, this.url, e)
      if (wrong) throw new UserError(`cannot reach steme serve at ${this.url}: ${wrong.message}`, {code: 'remote', exit: 1, hint: wrong.hint, cause: e})
      throw new UserError(`cannot reach steme serve at ${this.url}: ${err.code ?? err.message}`, {
        code: 'remote',
        exit: 1,
        hint: isUntrustedCert(err.code)
          ? UNTRUSTED_CERT_HINT
          : err.code === 'ECONNRESET'
            ? 'the daemon took the connection and closed it unanswered: it may have as many connections open as --max-connections allows (its log says so) or be restarting; retry shortly'
            : 'check the URL and that the daemon runs (`steme serve`)',
        cause: e,
      })
    }
    // A connection that dropped part way through the answer: a daemon that failed while writing
    // it (GET /v1/log is written as the store reads it), or a network that let go. Not JSON,
    // but not another web server either.
    if (!res.complete && res.status >= 200 && res.status < 300) {
      throw new UserError(`the answer to ${method} ${path} from steme serve at ${this.url} was cut short (the connection dropped part way)`, {
        code: 'remote',
        exit: 1,
        hint: "retry; if it happens again, the daemon's log says why it stopped",
      })
    }
    const limit = Number(res.headers[BODY_LIMIT_HEADER])
    if (Number.isSafeInteger(limit) && limit > 0) this.bodyLimit = limit
    const text = res.text
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      throw new UserError(`steme serve at ${this.url} answered ${res.status} with a body that is not JSON`, {code: 'remote', exit: 1, hint: 'is this the URL `steme serve` printed? another web server may be answering there'})
    }
    const ok = res.status >= 200 && res.status < 300
    if (!ok && !(res.status === 422 && path === '/v1/records')) {
      const err = (parsed as ErrorBody | undefined)?.error
      const code = (err && CORE_CODES.has(err.code) ? err.code : res.status === 413 ? 'too_large' : 'remote') as ErrorCode
      // The daemon's own 401 hint is for HTTP clients (an Authorization header); here the token comes from a flag.
      const hint =
        res.status === 401
          ? 'check --token or STEME_TOKEN: the token must be one the daemon issued and has not revoked (an admin creates one with `steme serve token create`)'
          : (err?.hint ?? (res.status === 413 ? 'start the daemon with a larger --body-limit (MiB)' : code === 'internal' ? daemonBugHint(this.url, err!.message) : undefined))
      // A missing, wrong or revoked token, or one whose role is too low, is a configuration error (exit 2), as a missing --token is.
      const exit = (res.status >= 400 && res.status < 500 && (code === 'usage' || code === 'invalid_claims')) || res.status === 401 || res.status === 403 ? 2 : 1
      // The damaged record an integrity error names, kept for --json as a local read gives it.
      const details = code === 'integrity' && typeof err?.id === 'string' ? {id: err.id} : undefined
      throw new UserError(err ? `${err.message} (from ${this.url})` : `steme serve at ${this.url} answered ${res.status}`, {code, hint, exit, ...(details ? {details} : {})})
    }
    return parsed as T
  }

  /**
   * A lens expression as sent: where it names self (`agent:self`, `self` in an authority order)
   * the caller's key is put in, so it means here what it means in a local query. Without a
   * client-side key loader it is sent as written. `words` puts the user's words back in the answer.
   */
  private async lens(text: string | undefined): Promise<{sent: string | undefined; words: SelfWords}> {
    if (text === undefined || !this.self) return {sent: text, words: NO_WORDS}
    const {namesSelf, replaceSelf} = await import('../lenses/expression.js')
    if (!namesSelf(text)) return {sent: text, words: NO_WORDS}
    const key = await this.selfKey(`--lens ${JSON.stringify(text)}`)
    const sent = replaceSelf(text, key)
    return {sent, words: new SelfWords(key, [{typed: text, sent}])}
  }

  /** A request whose answer and errors name self as the user did. */
  private async inWords<T>(words: SelfWords, answer: Promise<T>, shown: (words: SelfWords, res: T) => T): Promise<T> {
    try {
      return shown(words, await answer)
    } catch (e) {
      throw words.error(e)
    }
  }

  /** The caller's key, for a lens (`what`) that names self; a clear refusal when there is none. */
  private async selfKey(what: string): Promise<string> {
    try {
      return await this.self!()
    } catch (e) {
      if (!(e instanceof UserError)) throw e
      throw new UserError(`${what} names self, your own key, and there is no key here: ${e.message}`, {
        code: 'no_key',
        hint: `${e.hint ? `${e.hint}; ` : ''}or name the agent by its key (agent:<hex prefix>). Through a daemon the CLI sends your key for self: the daemon would read self as its own key`,
      })
    }
  }

  /**
   * The claims text as sent: a claim's lens that names self gets the caller's key, as --lens does.
   * Rewritten line by line (`lens = "…"`), so every line, and each verdict's line, stays put; the
   * result is parsed again, and a lens written another way is refused rather than sent as is.
   */
  private async claimsText(text: string, name: string): Promise<{text: string; words: SelfWords}> {
    if (!this.self || !/\bself\b/.test(text)) return {text, words: NO_WORDS}
    const [{namesSelf, replaceSelf}, {parseClaims}] = await Promise.all([import('../lenses/expression.js'), import('../claims/parse.js')])
    const claims = parseClaims(text, name).claims
    const first = claims.find((c) => c.lens !== undefined && namesSelf(c.lens))
    if (!first) return {text, words: NO_WORDS}
    const agent = await this.selfKey(`the lens ${JSON.stringify(first.lens)} of claim "${field(first.id)}"`)
    const lines = text.split('\n').map((line) => {
      const m = LENS_LINE.exec(line)
      if (!m) return line
      let lens: unknown
      try {
        lens = m[2].startsWith("'") ? m[2].slice(1, -1) : JSON.parse(m[2])
      } catch {
        return line
      }
      return typeof lens === 'string' && namesSelf(lens) ? m[1] + JSON.stringify(replaceSelf(lens, agent)) + m[3] : line
    })
    const out = lines.join('\n')
    const want = claims.map((c) => ({...c, lens: c.lens !== undefined && namesSelf(c.lens) ? replaceSelf(c.lens, agent) : c.lens}))
    const sent = parseClaims(out, name).claims
    const moved = want.find((c, i) => JSON.stringify(c) !== JSON.stringify(sent[i]))
    if (moved || sent.length !== want.length) {
      const c = moved ?? first
      throw new UserError(`${field(name)}:${c.line}: claim "${field(c.id)}" names self in a lens written in a way this client cannot put your key in for the daemon`, {
        hint: 'write it as lens = "…" on a line of its own, or name the agent by its key (agent:<hex prefix>); sent as written, self would mean the daemon\'s key',
      })
    }
    const lenses: SentLens[] = claims.filter((c) => c.lens !== undefined && namesSelf(c.lens)).map((c) => ({typed: c.lens!, sent: replaceSelf(c.lens!, agent)}))
    return {text: out, words: new SelfWords(agent, lenses)}
  }

  async query(input: QueryInput): Promise<QueryResult> {
    const lens = await this.lens(input.lens)
    const answer = this.request<QueryResult>('GET', '/v1/query', {
      query: {subject: input.subject, predicate: input.predicate, lens: lens.sent, 'as-of': input.asOf, 'valid-at': input.validAt, 'include-retracted': input.includeRetracted || undefined},
    })
    return this.inWords(lens.words, answer, (w, res) => w.query(res))
  }

  /**
   * Judge claims on the daemon against its store (POST /v1/verify); the observations come from this
   * side's files. A request over the daemon's limits goes in parts: every part carries the claims
   * and the observations they bear on, so each part judges exactly as the whole would; the other
   * observations (which only decide what is unclaimed) are shared out, and their unclaimed lists
   * joined in order.
   */
  async verify(req: VerifyRequest, limits: {observations: number; bytes: number} = VERIFY_LIMITS): Promise<VerifyReport> {
    const {text, words} = await this.claimsText(req.claims, req.name ?? 'claims.toml')
    return this.inWords(words, this.verifySent({...req, claims: text}, limits), (w, res) => w.verify(res))
  }

  /** POST /v1/verify, in parts when the request is over the daemon's limits. */
  private async verifySent(req: VerifyRequest, limits: {observations: number; bytes: number}): Promise<VerifyReport> {
    const body = JSON.stringify(req)
    if (req.observations.length <= limits.observations && Buffer.byteLength(body) <= limits.bytes) return this.request('POST', '/v1/verify', {body})
    const [{parseClaims}, {key}] = await Promise.all([import('../claims/parse.js'), import('../claims/observation.js')])
    const claimed = new Set(parseClaims(req.claims, req.name ?? 'claims.toml').claims.map((c) => key(c.subject, c.predicate)))
    const bearing: Observation[] = []
    const rest: Observation[] = []
    for (const o of req.observations) (claimed.has(key(o.subject, o.predicate)) ? bearing : rest).push(o)
    // JSON of an array: its items joined by commas, so a part's size is the sum of its items' sizes.
    const size = (o: Observation) => Buffer.byteLength(JSON.stringify(o)) + 1
    const base = Buffer.byteLength(JSON.stringify({...req, observations: []})) + bearing.reduce((t, o) => t + size(o), 0)
    if (bearing.length >= limits.observations || base >= limits.bytes) {
      throw new UserError(
        `the claims and the ${bearing.length} observations they bear on make a verify request of ${base} bytes, over what one POST /v1/verify takes (${limits.observations} observations, ${limits.bytes} bytes), and those cannot be split`,
        {code: 'too_large', exit: 1, hint: 'split the claims into several files and verify each with --claims, or verify without --remote (stop the daemon first)'},
      )
    }
    const parts: Observation[][] = []
    let part: Observation[] = []
    let bytes = base
    for (const o of rest) {
      const n = size(o)
      if (part.length && (bearing.length + part.length >= limits.observations || bytes + n > limits.bytes)) {
        parts.push(part)
        part = []
        bytes = base
      }
      part.push(o)
      bytes += n
    }
    parts.push(part)
    const reports: VerifyReport[] = []
    // One after another: the daemon judges one verify at a time anyway, and the store lookups repeat per part.
    for (const p of parts) reports.push(await this.request<VerifyReport>('POST', '/v1/verify', {body: JSON.stringify({...req, observations: [...bearing, ...p]})}))
    return {...reports[0], unclaimed: reports.flatMap((r) => r.unclaimed)}
  }

  async conflicts(input: ConflictsInput, page = CONFLICTS_MAX): Promise<ConflictsResult> {
    const lens = await this.lens(input.lens)
    const answer = this.conflictPages({...input, lens: lens.sent}, page)
    return this.conflictsSaid(input, await this.inWords(lens.words, answer, (w, r) => w.conflicts(r)))
  }

  /**
   * Every contested pair, as conflicts() without a limit gives them, but held on disk as the pages
   * come (ranked by the daemon) and read back in order, as the local listing is: memory holds a page
   * and a run (`runRows`), not the whole list. A pair a later page gives again (its score fell
   * between the pages' passes) is listed once, where it came first, as conflicts() lists it.
   * `onRow` sees each listed row once all pages are in, before the listing is returned.
   */
  async conflictsListing(
    input: Omit<ConflictsInput, 'limit' | 'after'>,
    opts: {page?: number; runRows?: number; tmpDir?: string; onRow?: (row: ConflictRow) => void} = {},
  ): Promise<ConflictsListing> {
    const lens = await this.lens(input.lens)
    const runRows = opts.runRows ?? CONFLICTS_RUN_ROWS
    // Rows by their place in the ranking; their keys by key, to find a pair listed twice without holding every key.
    const rows = new SortedRuns<[number, ConflictRow]>((a, b) => a[0] - b[0], runRows, opts.tmpDir)
    const keys = new SortedRuns<[string, number]>((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[0] === b[0] ? a[1] - b[1] : 0), runRows, opts.tmpDir)
    try {
      let n = 0
      const first = await this.inWords(
        lens.words,
        this.conflictPages({...input, lens: lens.sent}, opts.page ?? CONFLICTS_MAX, async (page) => {
          for (const row of page) {
            await rows.add([n, row])
            await keys.add([JSON.stringify([row.subject, row.predicate]), n])
            n++
          }
        }),
        (w, r) => w.conflicts(r),
      )
      const again = new Set<number>()
      let prev: string | undefined
      for await (const batch of keys.sorted()) {
        for (const [k, at] of batch) {
          if (k === prev) again.add(at)
          prev = k
        }
      }
      await keys.close()
      const {conflicts: _rows, ...head} = this.conflictsSaid(input, first)
      const listed = async function* (batch?: number): AsyncGenerator<ConflictRow[]> {
        for await (const b of rows.sorted(batch)) {
          const out = again.size ? b.filter(([at]) => !again.has(at)) : b
          if (out.length) yield out.map(([, row]) => row)
        }
      }
      if (opts.onRow) for await (const b of listed()) for (const row of b) opts.onRow(row)
      return {head, count: n - again.size, runs: rows.runs, peakHeld: rows.peakHeld, rows: listed, close: () => rows.close()}
    } catch (e) {
      await Promise.all([rows.close(), keys.close()])
      throw e
    }
  }

  /** A conflicts answer as the CLI says it: refused when the daemon could not answer the question asked, with a note when it scores as an older steme. */
  private conflictsSaid(input: ConflictsInput, answer: ConflictsResult & {overlap?: true; instants?: true; supersessionAtDates?: true}): ConflictsResult {
    const {overlap, instants, supersessionAtDates, ...res} = answer
    // A daemon from before conflicts took valid-at drops the parameter it does not know and ranks
    // the pairs for every date: an answer to another question, so it is refused, not shown.
    if (input.validAt !== undefined && res.validAt === undefined) {
      throw new UserError(`steme serve at ${this.url} does not take --valid-at for conflicts: it answered for every date`, {code: 'remote', exit: 1, hint: 'the daemon runs an older steme: restart `steme serve` with this version (or upgrade it on the daemon\'s host); a daemon on this machine holding the store is used even without --remote'})
    }
    // A daemon from before the timeline rule scores values that held one after another as a
    // conflict: its answer looks like this steme's, so the difference is said. At one date
    // (--valid-at) both score alike.
    const notes: string[] = []
    if (overlap !== true && input.validAt === undefined) {
      notes.push(
        `steme serve at ${this.url} runs an older steme, which counts values whose valid ranges never overlap (a timeline: "1.2" until July, "1.3" from July) as a conflict: it may list pairs, and score them higher, than this steme would. Restart \`steme serve\` with this version, or ask about one date with --valid-at, which both score alike`,
      )
    }
    // Likewise one from before the score without a date was the highest any one date gets.
    if (instants !== true && input.validAt === undefined) {
      notes.push(
        `steme serve at ${this.url} runs an older steme, whose conflict score without a date weighs values with valid ranges by the lens's belief over all dates: it may score such pairs lower than this steme (the highest --valid-at gives at any date) and leave out pairs --min-score would list. Restart \`steme serve\` with this version, or ask about one date with --valid-at, which both score alike`,
      )
    }
    // And one from before that score took each date's supersession (an older one still is said above, once).
    if (instants === true && supersessionAtDates !== true && input.validAt === undefined) {
      notes.push(
        `steme serve at ${this.url} runs an older steme, whose conflict score without a date sets a superseded assertion aside at every date, even one before what supersedes it held: it may score such pairs lower than this steme (which scores each date as --valid-at does) and leave out pairs. Restart \`steme serve\` with this version, or ask about one date with --valid-at, which both score alike`,
      )
    }
    return notes.length ? {...res, notes: [...(res.notes ?? []), ...notes]} : res
  }

  /**
   * Every pair up to the limit, as a local `steme conflicts` lists them: GET /v1/conflicts answers
   * a page at a time (at most CONFLICTS_MAX pairs), each page after the `next` of the one before.
   * A daemon from before pages answers without `limit`: it then gets the request an older client
   * made (one whole list, unpaged), which such a daemon answers in full.
   */
  private async conflictPages(input: ConflictsInput, page: number, sink?: (rows: ConflictRow[]) => Promise<void>): Promise<ConflictsResult & {overlap?: true; instants?: true; supersessionAtDates?: true}> {
    const query = {lens: input.lens, 'min-score': input.minScore, 'as-of': input.asOf, 'valid-at': input.validAt}
    let left = input.limit ?? Infinity
    let after: string | undefined
    let first: ConflictsPage | undefined
    const rows: ConflictRow[] = []
    const seen = new Set<string>()
    // The last pair of the pages so far, listed or not.
    let prev: ConflictRow | undefined
    while (left > 0) {
      const ask = Math.min(page, left)
      const res = await this.request<ConflictsPage>('GET', '/v1/conflicts', {query: {...query, limit: ask, after}})
      if (res.limit === undefined) {
        if (first) {
          throw new UserError(`steme serve at ${this.url} stopped paging conflicts part way (its answer to the page after the first has no limit)`, {code: 'remote', exit: 1, hint: 'it may have been restarted with an older steme meanwhile: run the command again'})
        }
        // A full page, short of what was wanted: there may be more, which it gives only all at once.
        const whole = res.conflicts.length < ask || ask === left ? res : await this.request<ConflictsResult>('GET', '/v1/conflicts', {query: {...query, limit: input.limit}})
        if (!sink) return whole
        await sink(whole.conflicts)
        return {...whole, conflicts: []}
      }
      // Every pair ranks after the one before it, on this page and across pages: a daemon that
      // went back to the start (restarted with a steme that drops `after`) is not believed, its
      // pairs would come twice; nor one whose pages do not go on (a page of pairs listed before,
      // with the same `next` again), which would be asked for for ever.
      for (const row of res.conflicts) {
        if (prev && rankOrder(row, prev) <= 0) {
          throw new UserError(`steme serve at ${this.url} did not go on after the pairs of its page before`, {code: 'remote', exit: 1, hint: 'it may have been restarted with an older steme meanwhile: run the command again'})
        }
        prev = row
      }
      first ??= res
      // Pages are ranked against the store as it is when each is asked for: a pair whose score
      // fell past the page's end meanwhile would come again, and is listed once.
      // With a sink the rows go there as they come, and it lists each pair once.
      if (sink) await sink(res.conflicts)
      else {
        for (const row of res.conflicts) {
          const key = JSON.stringify([row.subject, row.predicate])
          if (seen.has(key)) continue
          seen.add(key)
          rows.push(row)
          left--
        }
      }
      if (res.next === undefined || !res.conflicts.length) break
      after = res.next
    }
    const {limit: _limit, next: _next, ...rest} = first!
    return {...rest, conflicts: rows}
  }

  show(id: string): Promise<ShowResult> {
    return this.request('GET', `/v1/records/${encodeURIComponent(id)}`)
  }

  log(input: Omit<LogInput, 'after'> & {after?: string}): Promise<LogPage> {
    return this.request('GET', '/v1/log', {query: {subject: input.subject, since: input.since, after: input.after, limit: input.limit}})
  }

  /**
   * A whole log through the daemon, a page at a time (one GET /v1/log returns at most LOG_MAX
   * records): every record up to the limit, as a local log gives them. Each full page says where
   * the next starts (`next`), and the next page is asked for after it. A daemon from before
   * `next` answers a full page without it (it drops the `after` it does not know): then the log
   * is paged as such a daemon allows (legacyPages), from the start.
   */
  async *logPages(input: LogInput, page = LOG_PAGE): AsyncIterable<SignedRecord[]> {
    let left = input.limit ?? Infinity
    let after: string | undefined
    let last: SignedRecord | undefined
    while (left > 0) {
      const ask = Math.min(LOG_MAX, page, left)
      const res = await this.log({subject: input.subject, since: input.since, after, limit: ask})
      if (after === undefined && res.records.length >= ask && res.next === undefined) return yield* this.legacyPages(input, page)
      // A daemon that went back to the start (an older steme, started between two pages) is not
      // believed: its records would come twice.
      if (last && res.records.length && compareRecords(res.records[0], last) <= 0) {
        throw new UserError(`steme serve at ${this.url} did not go on after ${after}, where its page before ended`, {code: 'remote', exit: 1, hint: 'it may have been restarted with an older steme meanwhile: run the command again'})
      }
      if (res.records.length) yield res.records
      left -= res.records.length
      if (res.next === undefined || !res.records.length) return
      last = res.records[res.records.length - 1]
      after = res.next
    }
  }

  /**
   * The log as a daemon without `next` pages it: a page may end inside a run of records sharing
   * one stamp, so the next asks from the stamp before the last one seen and skips the records it
   * already gave.
   */
  private async *legacyPages(input: LogInput, page: number): AsyncIterable<SignedRecord[]> {
    let left = input.limit ?? Infinity
    let since = input.since
    let last: SignedRecord | undefined
    // Records given so far that share the last one's stamp: the next page returns them again.
    let again = 0
    while (left > 0) {
      const ask = Math.min(LOG_MAX, Math.min(page, left) + again)
      const {records} = await this.log({subject: input.subject, since, limit: ask})
      const fresh = (last ? records.filter((r) => compareRecords(r, last!) > 0) : records).slice(0, left)
      if (fresh.length) yield fresh
      left -= fresh.length
      if (records.length < ask) return
      if (!fresh.length) {
        throw new UserError(`steme serve at ${this.url} holds more than ${ask} records stamped ${last!.hlc}, more than one page of its log takes`, {code: 'remote', exit: 1, hint: "the daemon runs an older steme, which cannot page past them: restart `steme serve` with this version (or upgrade it on the daemon's host); or run `steme log` where the store is (stop the daemon first), or `steme export` there"})
      }
      const end = fresh[fresh.length - 1]
      again = (last && end.hlc === last.hlc ? again : 0) + fresh.filter((r) => r.hlc === end.hlc).length
      last = end
      const before = hlcBefore(end.hlc)
      since = before === '' || (input.since !== undefined && input.since > before) ? input.since : before
    }
  }

  /** Post signed records as NDJSON. */
  postRecords(ndjson: string, detail: 'ids' | 'counts' = 'counts'): Promise<RecordsResponse> {
    return this.request('POST', '/v1/records', {body: ndjson, type: 'application/x-ndjson', query: {detail}})
  }

  /** What the daemon's store holds (GET /v1/stats). */
  stats(): Promise<StoreStats & {location: string; clock: string}> {
    return this.request('GET', '/v1/stats')
  }

  /** A clock that resumes above the daemon's, so locally signed stamps come after what it has seen. */
  async clock(): Promise<Hlc> {
    const s = await this.request<{clock: string}>('GET', '/v1/stats')
    return new Hlc(s.clock ? parseHlc(s.clock) : undefined)
  }

  /** Deps for ops that sign here and store there (assertOp, ingestOp): the key stays on this machine. */
  async deps(key: () => KeyPair): Promise<Deps> {
    return {store: this.store(), clock: await this.clock(), config: {...DEFAULT_CONFIG}, key, saveClock: async () => undefined}
  }

  private async showOrNone(id: string): Promise<ShowResult | undefined> {
    try {
      return await this.show(id)
    } catch (e) {
      if (e instanceof UserError && e.code === 'not_found') return undefined
      throw e
    }
  }

  /**
   * A POST of records that failed for want of the daemon (gone, stopping, an error of its own, the
   * token revoked meanwhile), said with what it had stored of this command's records before: a
   * plain fact is signed anew each time it is sent, so the whole input sent again stores the ones
   * that went in a second time. Refusals that already say so (rejected records, a record over the
   * body limit) pass unchanged.
   */
  private cutOff(e: unknown, sent: {added: number; present: number}): unknown {
    if (!(e instanceof UserError) || e.code === 'rejected' || e.code === 'too_large') return e
    const stored = sent.added + sent.present
    // A daemon lost, or failing on its own (a bug, its host's files): the failed request's records may be in.
    if (stored === 0 && e.code !== 'remote' && e.code !== 'internal') return e
    const message = `${e.message}; the daemon had stored ${plural(stored, 'record')} this command sent before that (${sent.added} added, ${sent.present} already present)`
    const hint = `${e.hint ? `${e.hint}. ` : ''}The records sent in the request that failed may be stored or not. Sending the same input again skips the signed records already stored, but plain facts are signed anew each time, so those that went in would be stored a second time: send only what is not in the store yet (\`steme log\` shows it)`
    return new UserError(message, {code: e.code, exit: e.exit, hint, cause: e})
  }

  /** Lines grouped into POST bodies no larger than what the daemon takes (half its stated limit, at most RECORDS_POST_BYTES). */
  private *byBytes(lines: readonly string[]): Generator<string[]> {
    const cap = Math.min(RECORDS_POST_BYTES, this.bodyLimit ? Math.floor(this.bodyLimit / 2) : RECORDS_POST_BYTES)
    let part: string[] = []
    let bytes = 0
    for (const line of lines) {
      const n = Buffer.byteLength(line)
      if (part.length && bytes + n > cap) {
        yield part
        part = []
        bytes = 0
      }
      part.push(line)
      bytes += n
    }
    if (part.length) yield part
  }

  /** Post lines; a 413 (a daemon with a smaller limit than it stated, or none stated) splits them in halves, down to one record. */
  private async postLines(lines: string[]): Promise<{added: number; present: number}> {
    let res: RecordsResponse
    try {
      res = await this.postRecords(lines.join(''))
    } catch (e) {
      if (!(e instanceof UserError && e.code === 'too_large')) throw e
      if (lines.length === 1) {
        throw new UserError(`a record of ${Buffer.byteLength(lines[0])} bytes is over the body limit of steme serve at ${this.url}${this.bodyLimit ? ` (${this.bodyLimit} bytes)` : ''}`, {code: 'too_large', exit: 1, hint: 'start the daemon with a larger --body-limit (MiB); the records before this one were stored'})
      }
      const half = Math.ceil(lines.length / 2)
      const a = await this.postLines(lines.slice(0, half))
      const b = await this.postLines(lines.slice(half))
      return {added: a.added + b.added, present: a.present + b.present}
    }
    if (res.rejected > 0) {
      const e = res.errors[0]
      throw new UserError(`steme serve at ${this.url} rejected ${res.rejected} record(s)${e ? `, first ${e.id ?? 'line ' + e.line}: ${e.reason}` : ''}`, {code: 'rejected', exit: 1, hint: 'the daemon stored the records it accepted, from this batch and the ones before it; nothing after it was sent. Fix the cause (allowlist, clock skew) before sending again: signed records already stored are skipped, but plain facts are signed anew each time, so sending the same input again would store those that went in a second time'})
    }
    return {added: res.added, present: res.present}
  }

  /** The Store assertOp and ingestOp need when the records go to a daemon: insert, has, get and idsWithPrefix; nothing else is called. */
  store(): Store {
    // What the daemon acknowledged through this store: a command cut off part way says it.
    const sent = {added: 0, present: 0}
    const calls: Partial<Store> = {
      location: this.url,
      insert: async (batch: readonly Sealed[]) => {
        const lines = batch.map((s) => recordLine(s.canonical, s.record.id, s.record.sig) + '\n')
        let added = 0
        let present = 0
        for (const part of this.byBytes(lines)) {
          let res: {added: number; present: number}
          try {
            res = await this.postLines(part)
          } catch (e) {
            throw this.cutOff(e, sent)
          }
          added += res.added
          present += res.present
          sent.added += res.added
          sent.present += res.present
        }
        return {added, present}
      },
      // assert resolves what it cites and replaces through the daemon's `show`.
      get: async (ids: readonly string[]) => {
        const out: Sealed[] = []
        for (const id of ids) {
          const found = await this.showOrNone(id)
          if (found) out.push({record: found.record, canonical: canonicalBody(bodyOf(found.record))})
        }
        return out
      },
      // The daemon resolves a prefix (or refuses an ambiguous one, naming the ids) itself.
      idsWithPrefix: async (prefix: string) => {
        const found = await this.showOrNone(prefix)
        return found ? [found.record.id] : []
      },
      has: async (ids: readonly string[]) => {
        const out = new Set<string>()
        for (const id of ids) if ((await this.showOrNone(id))?.record.id === id) out.add(id)
        return out
      },
      close: async () => undefined,
    }
    return new Proxy(calls as Store, {
      get(target, prop) {
        if (prop in target || typeof prop === 'symbol' || prop === 'then') return Reflect.get(target, prop)
        // Optional capabilities are absent, so callers that test for them take the plain path.
        if (OPTIONAL.has(prop)) return undefined
        return () => {
          throw new BugError(`${String(prop)} is not available on a remote store`)
        }
      },
    })
  }
}

/** The ranking of conflicts (score descending, then subject, then predicate), as the daemon pages it: negative when `a` comes first. */
const rankOrder = (a: ConflictRow, b: ConflictRow): number =>
  b.conflict - a.conflict || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.predicate < b.predicate ? -1 : a.predicate > b.predicate ? 1 : 0)

/** Store methods callers probe for (`typeof store.x === 'function'`) before using them. */
const OPTIONAL = new Set<string>(['insertColumns', 'changeCounter'] satisfies Array<keyof Store>)

/**
 * One HTTP exchange. Unlike fetch, a server that answers before it has read the whole body (a 413
 * sent on the Content-Length alone) is heard: the error writing the rest (EPIPE, ECONNRESET) is
 * dropped once a response has arrived, and that response is what the caller gets.
 */
/** `complete`: the whole answer came (its last chunk, or all of its Content-Length) before the connection ended. */
async function send(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<{status: number; headers: IncomingHttpHeaders; text: string; complete: boolean}> {
  // Loaded on first use: every command that might go through a daemon loads this module, most never do.
  const {request} = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return new Promise((resolve, reject) => {
    const buf = body === undefined ? undefined : Buffer.from(body)
    if (buf) headers['content-length'] = String(buf.length)
    const req = request(url, {method, headers})
    let answered = false
    req.on('response', (res) => {
      answered = true
      const chunks: Buffer[] = []
      const done = () => resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), complete: res.complete})
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', done)
      // The connection dropped while the answer was read (the server closed it after an early answer): keep what came.
      res.on('error', done)
      res.on('aborted', done)
    })
    req.on('error', (e) => {
      if (!answered) reject(e)
    })
    req.end(buf)
  })
}
