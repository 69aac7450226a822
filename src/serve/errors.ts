/** The one place where error classes become HTTP statuses and stable error codes; clients never see a stack trace. */
import type {FastifyError, FastifyReply, FastifyRequest} from 'fastify'
import {UserError, type ErrorCode} from '../core/errors.js'
import {inputName, type Naming} from '../core/naming.js'
import {storeIoFailure} from '../core/render-error.js'
import {NAMING_HEADER} from './client.js'

/** Codes only the HTTP layer produces, on top of the CLI's UserError codes. */
export type HttpErrorCode = ErrorCode | 'bad_request' | 'method_not_allowed' | 'unsupported_media_type' | 'not_implemented' | 'timeout' | 'internal' | 'shutting_down'

export const STATUS: Record<HttpErrorCode, number> = {
  usage: 400,
  bad_request: 400,
  invalid_record: 400,
  invalid_claims: 400,
  no_key: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  timeout: 408,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  rejected: 422,
  rate_limited: 429,
  config: 500,
  integrity: 500,
  internal: 500,
  not_implemented: 501,
  remote: 502,
  no_space: 507,
  locked: 503,
  no_store: 503,
  shutting_down: 503,
}

/**
 * How messages name a request's inputs: as query parameters, unless the client asks for the CLI's
 * flag names (the steme CLI does, over --remote: its user typed flags).
 */
export const namingOf = (req: FastifyRequest): Naming => (req.headers[NAMING_HEADER] === 'flags' ? 'flags' : 'params')

/** A request's media type, without parameters (`; charset=...`), lower case; '' when none was sent. */
export const mediaType = (req: FastifyRequest): string => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()

export interface ErrorBody {
  error: {code: HttpErrorCode; message: string; hint?: string; line?: number; column?: number; id?: string}
}

/** An error raised by the HTTP layer itself (auth, content type, unmounted routes). */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** Fastify's own errors for client mistakes, by their FST_ code. */
const FASTIFY: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'bad_request',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_MAX_PARAM_LENGTH: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
}

/** Router errors whose own message would echo the whole (possibly huge) path back. */
const FRIENDLY: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL path is not valid percent-encoding (a % must be followed by two hex digits forming UTF-8)',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than 200 characters (a record id is 64 hex characters)',
}

/** The response header naming the request, as the daemon's log lines do (reqId). */
export const REQUEST_ID_HEADER = 'x-request-id'

export function toErrorBody(err: unknown): {status: number; body: ErrorBody} {
  let code: HttpErrorCode = 'internal'
  let message = 'internal error (a bug in steme serve; the server log has details)'
  let hint: string | undefined
  let at: {line: number; column?: number} | undefined
  let id: string | undefined
  if (err instanceof UserError || err instanceof HttpError) {
    code = err.code
    message = err.message
    hint = err.hint
    if (err instanceof UserError) at = err.at
    // The record an integrity error is about (a damaged row), as the CLI's --json error names it.
    if (err instanceof UserError && err.code === 'integrity' && typeof err.details?.id === 'string') id = err.details.id
  } else {
    const f = err as FastifyError & {validation?: unknown}
    const mapped = f?.validation ? 'bad_request' : f?.code ? FASTIFY[f.code] : undefined
    if (mapped) {
      code = mapped
      message = FRIENDLY[f.code] ?? f.message
    } else if (typeof f?.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
      // Other 4xx from fastify or a plugin: keep the status, name the code generically.
      return {status: f.statusCode, body: {error: {code: f.statusCode === 429 ? 'rate_limited' : 'bad_request', message: f.message}}}
    }
  }
  return {status: STATUS[code], body: {error: {code, message, ...(hint ? {hint} : {}), ...(at ? {line: at.line, ...(at.column ? {column: at.column} : {})} : {}), ...(id ? {id} : {})}}}
}

/** What each body-taking route accepts, for the 415 hint. */
const ACCEPTS: Record<string, string> = {
  '/v1/records': 'application/x-ndjson (also application/ndjson, application/jsonl) or application/json',
  '/v1/sync': 'application/x-steme-sync',
  '/v1/verify': 'application/json',
}

/**
 * A token's text wherever it appears (a path, a parameter of another name), also cut short
 * within its secret: messages clip the inputs they quote (a page position at 100 characters),
 * and what is left of the secret is still most of it.
 */
const TOKEN_TEXT = /stm_[0-9a-zA-Z]{12}_[0-9a-zA-Z]{1,43}/g

/** Text with any token in it replaced by [redacted]: a token sent where no token goes is not sent back. */
export const redactTokens = (text: string): string => text.replace(TOKEN_TEXT, '[redacted]')

/**
 * An input's value as a message quotes it: clipped to `max` characters, and with any token text
 * left out, whole or cut short by the clipping.
 */
export const quoteInput = (value: string, max = 40): string => JSON.stringify(value.length > max ? value.slice(0, max) + '…' : value).replace(/stm_[0-9a-zA-Z_]*/g, '[redacted]')

interface SchemaError {
  instancePath?: string
  keyword?: string
  params?: {limit?: unknown; type?: unknown; allowedValues?: unknown; missingProperty?: unknown}
}

/**
 * A schema refusal in the words of the rest of the API (ajv's own is "querystring/limit must be
 * >= 1", and says "must be string" of a parameter given twice): the input by its name, what it
 * got, what it takes.
 */
function schemaRefusal(err: FastifyError & {validation?: SchemaError[]; validationContext?: string}, req: FastifyRequest): {message: string; hint: string} | undefined {
  const first = err.validation?.[0]
  if (!first || (err.validationContext !== 'querystring' && err.validationContext !== 'params')) return undefined
  const inPath = err.validationContext === 'params'
  const key = first.keyword === 'required' ? String(first.params?.missingProperty ?? '') : (first.instancePath ?? '').replace(/^\//, '').replace(/~1/g, '/').replace(/~0/g, '~')
  if (!key || key.includes('/')) return undefined
  const name = inPath ? (key === 'id' ? 'the record id in the path' : `path parameter ${key}`) : inputName(key, namingOf(req))
  const value = ((inPath ? req.params : req.query) as Record<string, unknown> | undefined)?.[key]
  const shown = typeof value === 'string' ? quoteInput(value) : String(value)
  const p = first.params ?? {}
  let message: string | undefined
  if (Array.isArray(value)) message = `${name} is given ${value.length} times; give it once`
  else if (first.keyword === 'required') message = `${name} is required`
  else if (first.keyword === 'minimum') message = `${name}: ${shown} is below the least value of ${p.limit}`
  else if (first.keyword === 'maximum') message = `${name}: ${shown} is above the greatest value of ${p.limit}`
  else if (first.keyword === 'minLength') message = p.limit === 1 ? `${name} is empty` : `${name} is shorter than ${p.limit} characters`
  else if (first.keyword === 'maxLength') message = `${name} is longer than ${p.limit} characters`
  else if (first.keyword === 'enum' && Array.isArray(p.allowedValues)) message = `${name}: ${shown} is not one of ${p.allowedValues.join(', ')}`
  else if (first.keyword === 'type') message = `${name}: ${shown} is not ${p.type === 'integer' ? 'a whole number' : p.type === 'boolean' ? 'true or false' : `a ${p.type}`}`
  if (!message) return undefined
  const hint = inPath ? 'GET /v1/records/<id> takes a record id: 64 hex digits, or the first 6 or more of them' : `see the parameters of ${req.method} ${req.routeOptions?.url ?? ''} in GET /v1/openapi.yaml`
  return {message, hint}
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const {status, body} = toErrorBody(err)
  const refusal = (err as {validation?: unknown})?.validation ? schemaRefusal(err, req) : undefined
  if (refusal) {
    body.error.message = refusal.message
    body.error.hint = refusal.hint
  }
  // Fastify's own 413 and 415 say only "too large" or "unsupported": name the limit, the type and what is accepted.
  if (err?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = req.routeOptions?.bodyLimit
    if (req.routeOptions?.url === '/v1/sync') {
      // The protocol's own bound: --body-limit does not move it.
      body.error.message = `a sync message is larger than the protocol's bound${limit ? ` of ${mib(limit)}` : ''}`
      body.error.hint = '`steme pull|push|sync` keep each message within it; other clients split their records over several messages (docs/sync-protocol.md, Bounds)'
    } else {
      body.error.message = `request body is larger than the daemon's body limit${limit ? ` of ${mib(limit)}` : ''}`
      body.error.hint = 'send fewer records per request (steme ingest --remote does), or start the daemon with a larger --body-limit (MiB)'
    }
  } else if (err?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim()
    const accepts = ACCEPTS[req.routeOptions?.url ?? '']
    body.error.message = type ? `content type ${type} is not accepted here` : 'the request has a body but no Content-Type'
    body.error.hint = accepts ? `${req.method} ${req.routeOptions.url} takes ${accepts}` : 'see GET /v1/openapi.yaml'
  }
  // Messages quote inputs (a path, a date, an id), and a careless client puts its token in one;
  // hints too (a lens error shows the expression finished with a lens).
  body.error.message = redactTokens(body.error.message)
  if (body.error.hint !== undefined) body.error.hint = redactTokens(body.error.hint)
  if (status >= 500) req.log.error({err}, 'request failed')
  // What went wrong is in the log only: say under which id. The store's files failing on the
  // daemon's host (a full disk, a permission, something in the way of a file) is no bug in steme.
  const io = body.error.code === 'internal' ? storeIoFailure(err) : undefined
  let sent = status
  if (io === 'no_space') {
    sent = STATUS.no_space
    body.error = {code: 'no_space', message: `the daemon's disk is full: its store could not be written (the server log has details under request id ${req.id})`, hint: "ask the daemon's operator to free space on its disk, then send the request again"}
  } else if (io) {
    body.error.message = `internal error: the daemon could not read or write its store's files, an error of its host's disk or files, not of this request (the server log has details under request id ${req.id})`
    body.error.hint = "ask the daemon's operator to fix what the log names, then send the request again"
  } else if (body.error.code === 'internal') body.error.message = `internal error (a bug in steme serve; the server log has details under request id ${req.id})`
  void reply.status(sent).type('application/json').send(body)
}

const mib = (bytes: number): string => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`)
