/** serve.json: a daemon's state is believed only while its process is a live `steme serve`. */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {readServeState, writeServeState} from '../../src/serve/state.js'

describe('readServeState', () => {
  const procs: ChildProcess[] = []
  const dirs: string[] = []
  afterEach(() => {
    for (const p of procs.splice(0)) p.kill()
    for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
  })
  const stateOf = (pid: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'steme-state-'))
    dirs.push(dir)
    writeServeState(dir, {url: 'http://127.0.0.1:1', pid, token: 't', started: new Date().toISOString(), store: 'x'})
    return readServeState(dir)
  }
  // Stand-ins started the way a daemon is, or as any other program that got the pid after a crash.
  const start = (args: string[]) => {
    const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', ...args], {stdio: 'ignore'})
    procs.push(p)
    return p.pid!
  }

  it('believes a live process started as serve', () => {
    expect(stateOf(start(['serve', '--port', '0']))?.url).toBe('http://127.0.0.1:1')
  })

  it('ignores a pid that now belongs to another program, and one that is gone', () => {
    expect(stateOf(start(['ingest', 'x.ndjson']))).toBeUndefined()
    const gone = start([])
    procs[procs.length - 1].kill('SIGKILL')
    return new Promise<void>((done) => procs[procs.length - 1].once('exit', () => {
      expect(stateOf(gone)).toBeUndefined()
      done()
    }))
  })
})
