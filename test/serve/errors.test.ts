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
