/** Listings of the whole store (log, export) print as they read: a reader that stops ends them quietly, and memory does not follow the store. */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

/** Run steme, read its first chunk of stdout, then close the pipe as `| head -1` does; resolves with how it ended. */
function readFirstThenClose(sb: Sandbox, args: string[]): Promise<{code: number | null; signal: string | null; first: string; stderr: string}> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {cwd: sb.dir, env: sb.env})
    let first = ''
    let stderr = ''
    p.stderr.on('data', (d) => (stderr += d))
    p.stdout.once('data', (d) => {
      first = String(d)
      p.stdout.destroy()
    })
    p.on('close', (code, signal) => resolve({code, signal, first, stderr}))
  })
}

describe('a reader that closes the pipe early', () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox('steme-pipe-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    // Far more than a pipe holds (64 KiB), in every format.
    writeFileSync(join(sb.dir, 'facts.ndjson'), Array.from({length: 3000}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: `value ${i}`})).join('\n') + '\n')
    expect(sb.run(['ingest', 'facts.ndjson']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('ends log, log --json and export at once, exit 0 and nothing on stderr, as `git log | head` does', async () => {
    // -o - is stdout, as ingest's - is stdin; -o /dev/stdout (a pipe, opened in place) ends the same way.
    for (const args of [['log'], ['log', '--json'], ['export'], ['export', '-o', '-']]) {
      const r = await readFirstThenClose(sb, args)
      expect(r.first.length, args.join(' ')).toBeGreaterThan(0)
      expect({args, code: r.code, signal: r.signal, stderr: r.stderr}).toEqual({args, code: 0, signal: null, stderr: ''})
    }
    expect(existsSync(join(sb.dir, '-'))).toBe(false)
  })

  it('export -o /dev/stdout into a pipe its reader closes: exit 0, nothing on stderr; on a socket it cannot open, a usage error', () => {
    // Through a shell, so stdout is a pipe (Node gives a child a socket, which /dev/stdout cannot open).
    const r = spawnSync('bash', ['-c', `"$0" "$1" export -o /dev/stdout | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`, process.execPath, BIN], {cwd: sb.dir, env: sb.env, encoding: 'utf8'})
    expect({stdout: r.stdout, stderr: r.stderr}).toEqual({stdout: '0\n', stderr: ''})
    const socket = sb.run(['export', '-o', '/dev/stdout'])
    expect(socket.code).toBe(2)
    expect(socket.stderr).toBe('error: --output /dev/stdout: cannot open it (no such device or address)\nhint: leave out --output, or pass --output -, to write to stdout\n')
  })

  it('export -o - writes the records to stdout whole, and no file named -', () => {
    const r = sb.run(['export', '-o', '-'])
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''})
    expect(r.stdout).toBe(sb.run(['export']).stdout)
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(3000)
    expect(existsSync(join(sb.dir, '-'))).toBe(false)
  })
})

describe('a store bigger than the listing process may hold', () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox('steme-heap-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    // 20,000 records of ~4 KB: ~80 MB of record text, ~160 MB as parsed records.
    const pad = 'v'.repeat(4000)
    writeFileSync(join(sb.dir, 'facts.ndjson'), Array.from({length: 20_000}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: `${pad}${i}`})).join('\n') + '\n')
    expect(sb.run(['ingest', 'facts.ndjson']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('log and log --json print it within a 96 MiB JavaScript heap: a batch at a time, not the store gathered first', () => {
    const env = {NODE_OPTIONS: '--max-old-space-size=96'}
    const human = sb.run(['log'], {env})
    expect(human.stderr).toBe('')
    expect(human.code).toBe(0)
    const lines = human.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(20_001)
    expect(lines[0]).toBe('HLC                    ID            KIND       AGENT         WHAT')
    const json = sb.run(['log', '--json'], {env})
    expect(json.stderr).toBe('')
    expect(json.code).toBe(0)
    const records = (JSON.parse(json.stdout) as {records: Array<{subject: string; hlc: string}>}).records
    expect(records).toHaveLength(20_000)
    expect(new Set(records.map((r) => r.subject)).size).toBe(20_000)
    expect(records.map((r) => r.hlc)).toEqual(records.map((r) => r.hlc).sort())
  })
})
