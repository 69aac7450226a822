/** Read routes: thin mappings from query strings to queryOp, showOp, logOp and statsOp, the ops the CLI calls. */
import type {FastifyInstance} from 'fastify'
import {hlcBound, parseDate} from '../../core/hlc.js'
import {inputName} from '../../core/naming.js'
import {logPageJson, parsePosition} from '../../ops/log.js'
import {gatherPolicy, selfOf} from '../../ops/context.js'
import type {Deps} from '../../ops/deps.js'
import {queryOp, type QueryInput} from '../../ops/query.js'
import {showOp} from '../../ops/show.js'
import {statsOp} from '../../ops/stats.js'
import type {ServeContext} from '../context.js'
import {namingOf} from '../errors.js'
import {LOG_MAX} from '../client.js'
import {sendPieces} from '../pieces.js'

const text = (max: number) => ({type: 'string', minLength: 1, maxLength: max}) as const

/**
 * The longest lens expression a query parameter takes. An authority order that names a few whole
 * agent keys (64 hex digits each) passes 256, and over `--remote` each `self` the user typed
 * arrives as a whole key; 2 KiB bounds the parse and leaves room for both.
 */
export const LENS_MAX = 2048

export function readRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const {deps} = ctx
  const answers = new AnswerCache(deps)
  app.get<{Querystring: {subject: string; predicate?: string; lens?: string; 'as-of'?: string; 'valid-at'?: string; 'include-retracted'?: boolean; explain?: boolean; all?: boolean}}>(
    '/v1/query',
    {
      config: {role: 'read'},
      schema: {
        querystring: {
          type: 'object',
          required: ['subject'],
          properties: {subject: text(512), predicate: text(256), lens: text(LENS_MAX), 'as-of': text(64), 'valid-at': text(64), 'include-retracted': {type: 'boolean'}, explain: {type: 'boolean'}, all: {type: 'boolean'}},
        },
      },
    },
    // explain and all shape only human output: the JSON always carries explanations and every candidate, as `steme query --json` does.
    async (req, reply) => {
      const input = {subject: req.query.subject, predicate: req.query.predicate, lens: req.query.lens, asOf: req.query['as-of'], validAt: req.query['valid-at'], includeRetracted: req.query['include-retracted'], naming: namingOf(req)}
      const body = await answers.get(input, async () => JSON.stringify(await queryOp(deps, input)))
      return reply.type('application/json; charset=utf-8').send(body)
    },
  )

  app.get<{Params: {id: string}}>(
    '/v1/records/:id',
    {config: {role: 'read'}, schema: {params: {type: 'object', properties: {id: text(200)}}}},
    async (req) => showOp(deps, {id: req.params.id}),
  )

  // A page ends at `limit` records; a full page says in `next` where the following one starts, and
  // `after=<next>` asks for it: exact however many records share a stamp, where `since` is not.
  app.get<{Querystring: {subject?: string; since?: string; after?: string; limit?: number}}>(
    '/v1/log',
    {
      config: {role: 'read'},
      schema: {querystring: {type: 'object', properties: {subject: text(512), since: text(64), after: text(128), limit: {type: 'integer', minimum: 1, maximum: LOG_MAX}}}},
    },
    // Written as the store reads it (see sendPieces): a page of 100,000 records built whole was
    // ~45 MB of JSON text, and its records as objects several times that, per request.
    async (req, reply) => {
      const input = {
        subject: req.query.subject,
        since: req.query.since === undefined ? undefined : hlcBound(req.query.since, inputName('since', namingOf(req))),
        // Only ever a daemon's own `next` handed back (the CLI has no flag for it), so named as the parameter.
        after: req.query.after === undefined ? undefined : parsePosition(req.query.after, inputName('after', 'params')),
        limit: req.query.limit ?? LOG_MAX,
      }
      return sendPieces(reply, 'application/json; charset=utf-8', logPageJson(deps, input))
    },
  )

  app.get('/v1/stats', {config: {role: 'read'}}, async () => statsOp(deps))
}

/**
 * Query answers (the JSON text) by their inputs, while the store's change counter stays put: the
 * daemon is the store's only writer, so an unchanged counter means unchanged records. Without
 * --as-of or --valid-at an answer also depends on the clock through the current epoch, so it
 * is kept only until the next epoch starts. Stores without a change counter are not cached.
 */
/** Answers larger than this (characters) are not cached. */
const MAX_ENTRY_CHARS = 1024 * 1024

export class AnswerCache {
  private readonly entries = new Map<string, {counter: number; until: number; body: string}>()

  private bytes = 0

  constructor(
    private readonly deps: Deps,
    private readonly max = 4096,
    /** Total characters of cached answers (about 64 MiB of ASCII). */
    private readonly maxChars = 64 * 1024 * 1024,
  ) {}

  async get(input: QueryInput, compute: () => Promise<string>): Promise<string> {
    const counter = this.deps.store.changeCounter?.()
    if (counter === undefined) return compute()
    const key = JSON.stringify([input.subject, input.predicate, input.lens, input.asOf, input.validAt, input.includeRetracted])
    const now = Date.now()
    const hit = this.entries.get(key)
    if (hit && hit.counter === counter && now < hit.until) {
      // Most recently used last, so the oldest is evicted first.
      this.entries.delete(key)
      this.entries.set(key, hit)
      return hit.body
    }
    const until = input.asOf !== undefined || input.validAt !== undefined ? Infinity : await this.nextEpochStart(now)
    const body = await compute()
    const old = this.entries.get(key)
    if (old) {
      this.entries.delete(key)
      this.bytes -= old.body.length
    }
    // Bounded in bytes as well as entries: one busy subject's answer can be megabytes.
    if (body.length > MAX_ENTRY_CHARS) return body
    while (this.entries.size > 0 && (this.entries.size >= this.max || this.bytes + body.length > this.maxChars)) {
      const [k, e] = this.entries.entries().next().value!
      this.entries.delete(k)
      this.bytes -= e.body.length
    }
    this.entries.set(key, {counter, until, body})
    this.bytes += body.length
    return body
  }

  /** When the next epoch known to the store starts (the current epoch may change then). */
  private async nextEpochStart(now: number): Promise<number> {
    const {epochs} = await gatherPolicy(this.deps, {self: selfOf(this.deps)})
    let next = Infinity
    for (const e of epochs) {
      const t = parseDate(e.starts)
      if (t > now && t < next) next = t
    }
    return next
  }
}
