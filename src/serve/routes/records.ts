/** POST /v1/records: signed records as NDJSON or a JSON array, validated by ingestOp exactly as `steme ingest` does. */
import {Readable} from 'node:stream'
import type {FastifyInstance} from 'fastify'
import {UserError} from '../../core/errors.js'
import {ingestOp, type IngestSummary} from '../../ops/ingest.js'
import type {ServeContext} from '../context.js'
import {HttpError, mediaType} from '../errors.js'
import {countRejected} from '../metrics.js'

export interface RecordsResponse extends IngestSummary {
  /** Ids newly stored and ids already present, per record (omitted with ?detail=counts). */
  ids?: {added: string[]; present: string[]}
  error?: {code: 'rejected'; message: string}
}

const noKey = (): never => {
  throw new UserError('the daemon does not sign records', {code: 'no_key'})
}

export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl']

const hasBom = (b: Buffer): boolean => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf

/** The first byte that is not JSON whitespace, if any. */
function firstNonSpace(b: Buffer): number | undefined {
  let i = 0
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++
  return i < b.length ? b[i] : undefined
}

/** How a JSON body that is neither an array nor an object starts, for the error. */
function describe(body: Buffer): string {
  const text = body.toString('utf8', 0, Math.min(body.length, 200)).trim()
  try {
    const v: unknown = JSON.parse(body.toString('utf8'))
    return v === null ? 'null' : `a ${typeof v} (${JSON.stringify(v).slice(0, 40)})`
  } catch {
    return `text starting ${JSON.stringify(text.slice(0, 20))}`
  }
}

/** JSON.parse's complaint about a body, if it is valid UTF-8 and does not parse; bytes that are not UTF-8 are left to ingestOp. */
function syntaxError(body: Buffer): string | undefined {
  let text: string
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(body)
  } catch {
    return undefined
  }
  try {
    JSON.parse(text)
    return undefined
  } catch (e) {
    return (e as Error).message
  }
}

export function recordRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post<{Body: Buffer; Querystring: {detail?: 'ids' | 'counts'}}>(
    '/v1/records',
    {config: {role: 'write'}, schema: {querystring: {type: 'object', properties: {detail: {type: 'string', enum: ['ids', 'counts']}}}}},
    async (req, reply) => {
      const type = mediaType(req)
      if ((type !== 'application/json' && !NDJSON_TYPES.includes(type)) || !Buffer.isBuffer(req.body)) {
        throw new HttpError('unsupported_media_type', 'records are sent as application/x-ndjson (one per line) or application/json (an array, or one record)', 'see POST /v1/records in GET /v1/openapi.yaml')
      }
      // A byte order mark is dropped here, so that a wrapped object below does not carry it inside.
      let body = hasBom(req.body) ? req.body.subarray(3) : req.body
      let format: 'ndjson' | 'json' = NDJSON_TYPES.includes(type) ? 'ndjson' : 'json'
      const first = firstNonSpace(body)
      if (format === 'json' && first !== undefined && first !== 0x5b && first !== 0x7b) {
        throw new HttpError('invalid_record', `an application/json body is an array of records or one record object, not ${describe(body)}`, 'send [ {record}, … ], one {record}, or NDJSON as application/x-ndjson')
      }
      // One pretty-printed object is one record, not NDJSON lines. It is checked whole here, so a
      // syntax error is reported on the text sent, not on the array it is wrapped in below.
      if (format === 'json' && first === 0x7b) {
        const bad = syntaxError(body)
        if (bad) throw new HttpError('invalid_record', `request body is not a valid JSON object: ${bad}`, 'send one record object, a JSON array of records, or NDJSON as application/x-ndjson')
        body = Buffer.concat([Buffer.from('['), body, Buffer.from(']')])
      }
      if (first === undefined) format = 'ndjson'
      const {store, added, present} = ctx.observed.forRequest(req.query.detail !== 'counts')
      const summary = await ingestOp(
        // The daemon never signs: ingestOp sees no key, so plain facts are rejected per record.
        {...ctx.deps, store, key: noKey},
        {input: Readable.from([body]), format, name: 'request body', runner: ctx.runner, allowAgents: ctx.allowAgents, maxErrors: ctx.maxErrors, signal: ctx.stopping},
      )
      countRejected(ctx.metrics, summary.rejected)
      const res: RecordsResponse = {...summary}
      if (req.query.detail !== 'counts') res.ids = {added, present}
      if (summary.rejected > 0 && summary.added + summary.present === 0) {
        res.error = {code: 'rejected', message: `all ${summary.rejected} records were rejected; see errors`}
        return reply.status(422).send(res)
      }
      return res
    },
  )
}
