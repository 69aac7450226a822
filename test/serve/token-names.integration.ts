/** Token names: a name shared by several active tokens is said when it happens, and an empty one is refused. */
import {describe, expect, it} from 'vitest'
import {inFreshStore, steme} from './daemon.js'

describe('steme serve token create --name', () => {
  it('names the active tokens that already carry the name, and still creates the token', async () => {
    await inFreshStore(async (e) => {
      const first = JSON.parse((await steme(e, ['serve', 'token', 'create', '--role', 'write', '--name', 'ci', '--json'])).stdout)
      const second = await steme(e, ['serve', 'token', 'create', '--role', 'read', '--name', 'ci'])
      expect(second.code).toBe(0)
      expect(second.stdout).toMatch(/^stm_/)
      expect(second.stderr).toContain(`another active token is named "ci" too: ${first.id} (write)`)
      expect(second.stderr).toContain('steme serve token revoke <id>')
      // Once the older one is revoked, the name is one token's again: nothing to say.
      expect((await steme(e, ['serve', 'token', 'revoke', first.id])).code).toBe(0)
      const third = await steme(e, ['serve', 'token', 'create', '--role', 'read', '--name', 'other'])
      expect(third.stderr).not.toMatch(/named/)
    })
  }, 60_000)

  it('refuses an empty name (exit 2) rather than create a token without one', async () => {
    await inFreshStore(async (e) => {
      const r = await steme(e, ['serve', 'token', 'create', '--role', 'read', '--name', ''])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('--name is empty')
      expect(JSON.parse((await steme(e, ['serve', 'token', 'list', '--json'])).stdout).tokens).toEqual([])
    })
  }, 60_000)
})
