/** "Not found" exits by what was not found: a name of something configured (exit 2), a record the store lacks (exit 1). */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeEach(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterEach(() => sb.cleanup())

const error = (stdout: string) => (JSON.parse(stdout) as {error: {code: string; message: string}}).error

describe('not found', () => {
  it('a token, a remote or a key name that names nothing configured is a usage error: exit 2', () => {
    for (const [args, message] of [
      [['serve', 'token', 'revoke', 'nope'], 'no active token with id or name "nope"'],
      [['remote', 'remove', 'nope'], 'no remote named nope'],
      [['keys', 'default', 'nope'], 'no key named "nope"'],
    ] as const) {
      const r = sb.run([...args, '--json'])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(error(r.stdout).message).toContain(message)
    }
  })

  it('a record id the store does not hold is a failure the command found: exit 1', () => {
    const r = sb.run(['show', 'ab'.repeat(32), '--json'])
    expect(r.code, r.stderr).toBe(1)
    expect(error(r.stdout)).toMatchObject({code: 'not_found', message: `no record ${'ab'.repeat(32)} in this store`})
  })
})
