import {describe, expect, it} from 'vitest'
import {BugError, UserError, type ErrorCode} from '../../src/core/errors.js'
import {HttpError, STATUS, toErrorBody} from '../../src/serve/errors.js'

describe('error mapping', () => {
  it('maps every UserError code to a status, 4xx for what the client can fix', () => {
    const codes: ErrorCode[] = ['usage', 'config', 'not_found', 'invalid_record', 'rejected', 'locked', 'no_store', 'no_key', 'integrity', 'conflict', 'remote', 'unauthorized', 'forbidden', 'too_large', 'rate_limited']
    for (const code of codes) {
      const {status, body} = toErrorBody(new UserError('m', {code, hint: 'h'}))
      expect(status, code).toBe(STATUS[code])
      expect(body).toEqual({error: {code, message: 'm', hint: 'h'}})
    }
    for (const code of ['usage', 'not_found', 'invalid_record', 'unauthorized', 'forbidden', 'too_large', 'rate_limited'] as const) expect(STATUS[code]).toBeLessThan(500)
  })

  it('a bug is a 500 with a generic message: no text of the exception leaks', () => {
    const {status, body} = toErrorBody(new BugError('secret path /home/x/y.ts:12'))
    expect(status).toBe(500)
    expect(body.error.code).toBe('internal')
    expect(JSON.stringify(body)).not.toContain('secret')
  })

  it("fastify's client errors keep their meaning", () => {
    expect(toErrorBody(Object.assign(new Error('too big'), {code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413})).status).toBe(413)
    expect(toErrorBody(Object.assign(new Error('bad'), {validation: [{}], statusCode: 400})).body.error.code).toBe('bad_request')
    expect(toErrorBody(new HttpError('not_implemented', 'later')).status).toBe(501)
  })
})

describe('a 500 caused by the host, not by steme', () => {
  /** The answer to a request whose handler throws `err`, through the daemon's error handler. */
  async function answer(err: Error): Promise<{status: number; error: {code: string; message: string; hint?: string}}> {
    const {default: Fastify} = await import('fastify')
    const {errorHandler} = await import('../../src/serve/errors.js')
    const app = Fastify({logger: false, genReqId: () => 'r-1'})
    app.setErrorHandler(errorHandler)
    app.get('/x', async () => {
      throw err
    })
    const res = await app.inject({method: 'GET', url: '/x'})
    await app.close()
    return {status: res.statusCode, error: res.json().error}
  }

  it('a full disk is a 507 no_space; other failures of the store files a 500 that is no bug; anything else a bug', async () => {
    const full = await answer(new Error('IO Error: Could not write file "/srv/x/store.duckdb.wal": No space left on device'))
    expect(full.status).toBe(507)
    expect(full.error.code).toBe('no_space')
    expect(full.error.message).toContain('request id r-1')
    expect(full.error.message).not.toContain('/srv/x')
    const denied = await answer(Object.assign(new Error("EACCES: permission denied, open '/srv/x/.steme/store.duckdb.wal'"), {code: 'EACCES', syscall: 'open'}))
    expect(denied.status).toBe(500)
    expect(denied.error.message).toMatch(/^internal error: the daemon could not read or write its store's files/)
    expect(denied.error.message).not.toContain('/srv/x')
    const dir = await answer(new Error('TransactionContext Error: Failed to commit: Cannot open file "/srv/x/store.duckdb.wal": Is a directory'))
    expect(dir.error.message).not.toMatch(/a bug/)
    const bug = await answer(new TypeError("Cannot read properties of undefined (reading 'id')"))
    expect(bug.status).toBe(500)
    expect(bug.error.message).toBe('internal error (a bug in steme serve; the server log has details under request id r-1)')
  })
})
