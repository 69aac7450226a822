/** Token commands: a name shared by several active tokens is said when it happens, an empty one is refused, and commands at the same time lose nothing. */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
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

describe('token commands run at the same time', () => {
  it('keep every token created and every revocation', async () => {
    await inFreshStore(async (e) => {
      const leaked = JSON.parse((await steme(e, ['serve', 'token', 'create', '--role', 'admin', '--name', 'leaked', '--json'])).stdout)
      // Each command reads the file and writes it back: at once, each must see the others' changes.
      const runs = await Promise.all([
        ...Array.from({length: 8}, (_, i) => steme(e, ['serve', 'token', 'create', '--role', 'read', '--name', `t${i}`, '--json'])),
        steme(e, ['serve', 'token', 'revoke', leaked.id]),
      ])
      for (const r of runs) expect(r.code, r.stderr).toBe(0)
      const created = runs.slice(0, 8).map((r) => JSON.parse(r.stdout).id as string)
      const listed = JSON.parse((await steme(e, ['serve', 'token', 'list', '--json'])).stdout).tokens as Array<{id: string; revoked?: string}>
      expect(listed.map((t) => t.id).sort()).toEqual([...created, leaked.id].sort())
      expect(listed.find((t) => t.id === leaked.id)?.revoked).toBeDefined()
      expect(existsSync(join(e.dir, '.steme', 'state', 'tokens.json.lock'))).toBe(false)
    })
  }, 120_000)
})
