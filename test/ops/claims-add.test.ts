import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {claimsAddOp} from '../../src/ops/claims-add.js'
import {claim, makeRepo, tempDir} from '../claims/helpers.js'

const base = {id: 'a', subject: 's', predicate: 'p'}

async function refused(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(UserError)
  expect((e as UserError).exit).toBe(2)
  return e as UserError
}

describe('claims add', () => {
  it('runs verify\'s lens check: an unknown lens is refused and nothing is written', async () => {
    const old = claim('first', 's', 'q', 'expect = 1')
    const dir = makeRepo({'.steme/claims.toml': old})
    const path = join(dir, '.steme', 'claims.toml')
    const e = await refused(claimsAddOp({cwd: dir, ...base, expect: 1, lens: 'nope'}))
    expect(e.message).toMatch(/unknown lens "nope"/)
    expect(e.hint).toMatch(/^known lenses: .*recency/)
    expect(readFileSync(path, 'utf8')).toBe(old)
    // A new file is not created either.
    const fresh = tempDir()
    await refused(claimsAddOp({cwd: fresh, ...base, expect: 1, lens: 'nope'}))
    expect(existsSync(join(fresh, '.steme'))).toBe(false)
    // A lens that exists is written.
    expect((await claimsAddOp({cwd: fresh, ...base, expect: 1, lens: 'recency'})).claim.lens).toBe('recency')
  })
})
