/** A small HTTP client for `steme serve`, and a Store that writes through it, so assertOp and ingestOp run unchanged against a daemon. */
import {UserError, type ErrorCode} from '../core/errors.js'
import {Hlc, parseHlc} from '../core/hlc.js'
import {canonicalBody, recordLine, type Sealed} from '../core/seal.js'
import type {Store} from '../core/store.js'
import {BugError} from '../core/errors.js'
import type {LogInput} from '../ops/log.js'
import type {QueryInput, QueryResult} from '../ops/query.js'
import type {ConflictsInput, conflictsOp} from '../ops/conflicts.js'
import type {ShowResult} from '../ops/show.js'
import type {VerifyReport, VerifyRequest} from '../ops/verify-request.js'
import type {Observation} from '../claims/observation.js'
import {bodyOf, type SignedRecord} from '../core/record.js'
import {DEFAULT_CONFIG} from '../config.js'
import type {KeyPair} from '../core/sign.js'
import type {Deps} from '../ops/deps.js'
import type {ErrorBody} from './errors.js'
import type {RecordsResponse} from './routes/records.js'

/**
 * What one POST /v1/verify takes: the daemon's observation limit (REQUEST_LIMITS.observations) and
 * its default body limit (32 MiB), less room for the request's own framing.
 */
export const VERIFY_LIMITS = {observations: 100_000, bytes: 32 * 1024 * 1024 - 64 * 1024}

const CORE_CODES = new Set<string>(['usage', 'config', 'not_found', 'invalid_record', 'rejected', 'locked', 'no_store', 'no_key', 'integrity', 'conflict', 'unauthorized', 'forbidden', 'too_large', 'rate_limited', 'invalid_claims'])

export class RemoteClient {
  readonly url: string
  constructor(
    url: string,
    private readonly token: string | undefined,
  ) {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new UserError(`--remote "${url}" is not a URL`, {hint: 'use the URL `steme serve` prints, e.g. http://127.0.0.1:7411'})
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError(`--remote "${url}" is not an http(s) URL`, {hint: 'use the URL `steme serve` prints'})
    this.url = u.origin + u.pathname.replace(/\/+$/, '')
  }

  async request<T>(method: string, path: string, opts: {query?: Record<string, string | number | boolean | undefined>; body?: string; type?: string} = {}): Promise<T> {
    const u = new URL(this.url + path)
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v))
    const headers: Record<string, string> = {accept: 'application/json'}
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json'
    let res: Response
    try {
      res = await fetch(u, {method, headers, body: opts.body})
    } catch (e) {
      const cause = (e as {cause?: {code?: string; message?: string}}).cause
      throw new UserError(`cannot reach steme serve at ${this.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, {code: 'remote', exit: 1, hint: 'check the URL and that the daemon runs (`steme serve`)'})
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      throw new UserError(`steme serve at ${this.url} answered ${res.status} with a body that is not JSON`, {code: 'remote', exit: 1})
    }
    if (!res.ok && !(res.status === 422 && path === '/v1/records')) {
      const err = (parsed as ErrorBody | undefined)?.error
      const code = (err && CORE_CODES.has(err.code) ? err.code : 'remote') as ErrorCode
      const hint = err?.hint ?? (res.status === 401 ? 'pass --token or set STEME_TOKEN' : undefined)
      throw new UserError(err ? `${err.message} (from ${this.url})` : `steme serve at ${this.url} answered ${res.status}`, {code, hint, exit: res.status >= 400 && res.status < 500 && (code === 'usage' || code === 'invalid_claims') ? 2 : 1})
    }
    return parsed as T
  }

  query(input: QueryInput): Promise<QueryResult> {
    return this.request('GET', '/v1/query', {
      query: {subject: input.subject, predicate: input.predicate, lens: input.lens, 'as-of': input.asOf, 'valid-at': input.validAt, 'include-retracted': input.includeRetracted || undefined},
    })
  }

  /**
   * Judge claims on the daemon against its store (POST /v1/verify); the observations come from this
   * side's files. A request over the daemon's limits goes in parts: every part carries the claims
   * and the observations they bear on, so each part judges exactly as the whole would; the other
   * observations (which only decide what is unclaimed) are shared out, and their unclaimed lists
   * joined in order.
   */
  async verify(req: VerifyRequest, limits: {observations: number; bytes: number} = VERIFY_LIMITS): Promise<VerifyReport> {
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

  conflicts(input: ConflictsInput): Promise<Awaited<ReturnType<typeof conflictsOp>>> {
    return this.request('GET', '/v1/conflicts', {query: {lens: input.lens, 'min-score': input.minScore, limit: input.limit, 'as-of': input.asOf}})
  }

  show(id: string): Promise<ShowResult> {
    return this.request('GET', `/v1/records/${encodeURIComponent(id)}`)
  }

  log(input: LogInput): Promise<{records: SignedRecord[]}> {
    return this.request('GET', '/v1/log', {query: {subject: input.subject, since: input.since, limit: input.limit}})
  }

  /** Post signed records as NDJSON. */
  postRecords(ndjson: string, detail: 'ids' | 'counts' = 'counts'): Promise<RecordsResponse> {
    return this.request('POST', '/v1/records', {body: ndjson, type: 'application/x-ndjson', query: {detail}})
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

  /** The Store assertOp and ingestOp need when the records go to a daemon: insert, has, get and idsWithPrefix; nothing else is called. */
  store(): Store {
    const calls: Partial<Store> = {
      location: this.url,
      insert: async (batch: readonly Sealed[]) => {
        const res = await this.postRecords(batch.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)).join('\n') + '\n')
        if (res.rejected > 0) {
          const e = res.errors[0]
          throw new UserError(`steme serve at ${this.url} rejected ${res.rejected} record(s)${e ? `, first ${e.id ?? 'line ' + e.line}: ${e.reason}` : ''}`, {code: 'rejected', exit: 1, hint: 'the daemon stored the records it accepted, from this batch and the ones before it; nothing after it was sent. Fix the cause (allowlist, clock skew) before sending again: signed records already stored are skipped, but plain facts are signed anew each time, so sending the same input again would store those that went in a second time'})
        }
        return {added: res.added, present: res.present}
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

/** Store methods callers probe for (`typeof store.x === 'function'`) before using them. */
const OPTIONAL = new Set<string>(['insertColumns', 'changeCounter'] satisfies Array<keyof Store>)
