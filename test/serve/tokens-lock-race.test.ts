/**
 * Two token commands taking over the same stale lock (its holder died) at once: the one that
 * judged it stale first must not remove the lock the other has taken meanwhile. The other
 * command is played here at the worst moment, just before this one removes the lock it judged
 * stale, doing what a peer process can do then.
 */
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it, vi} from 'vitest'

/** Called once, just before this process removes the lock file: the peer's move. */
const before: {lock?: string; peer?: () => void} = {}
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>()
  const hook = (path: unknown) => {
    if (path === before.lock && before.peer) {
      const peer = before.peer
      before.peer = undefined
      peer()
    }
  }
  return {
    ...real,
    rmSync: (path: fs.PathLike, opts?: fs.RmOptions) => (hook(path), real.rmSync(path, opts)),
    unlinkSync: (path: fs.PathLike) => (hook(path), real.unlinkSync(path)),
    renameSync: (from: fs.PathLike, to: fs.PathLike) => (hook(from), real.renameSync(from, to)),
  }
})

const {TokenFile} = await import('../../src/serve/tokens.js')
const real = await vi.importActual<typeof import('node:fs')>('node:fs')

const root = real.mkdtempSync(join(tmpdir(), 'steme-tok-race-'))
afterAll(() => real.rmSync(root, {recursive: true, force: true}))

describe('a stale token-file lock taken over by two commands at once', () => {
  it('is taken by one of them only: the lock the other took meanwhile is never removed', () => {
    const path = join(real.mkdtempSync(join(root, 't-')), 'state', 'tokens.json')
    const f = new TokenFile(path, 300)
    f.create('read', 'first')
    const lock = `${path}.lock`
    // Its holder died: the lock names a pid no process has.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!
    real.writeFileSync(lock, String(dead))
    // The peer, a live process (this one's parent), found the lock stale too. Following the
    // protocol, it takes the lock over now if nobody else is taking it over, and keeps it.
    const peer = String(process.ppid)
    let peerHolds = false
    before.lock = lock
    before.peer = () => {
      try {
        real.closeSync(real.openSync(`${lock}.break`, 'wx'))
      } catch {
        return // another process is taking it over: the peer waits
      }
      try {
        if (real.readFileSync(lock, 'utf8') === String(dead)) {
          real.rmSync(lock)
          real.writeFileSync(lock, peer, {flag: 'wx'})
          peerHolds = true
        }
      } finally {
        real.rmSync(`${lock}.break`, {force: true})
      }
    }
    let created: string | undefined
    let refused: unknown
    try {
      created = f.create('read', 'second').entry.name
    } catch (e) {
      refused = e
    }
    // Either the peer took the lock, and this command waited for it (and gave up, as the peer
    // never lets go here); or the peer could not, and this command took it alone.
    if (peerHolds) {
      expect(created, 'this command changed the file while the peer held the lock').toBeUndefined()
      expect(real.existsSync(lock) ? real.readFileSync(lock, 'utf8') : 'removed').toBe(peer)
      expect(String(refused)).toMatch(new RegExp(`is being changed by another process \\(pid ${peer}\\)`))
      real.rmSync(lock)
    } else {
      expect(created).toBe('second')
      expect(real.existsSync(lock)).toBe(false)
    }
  })
})
