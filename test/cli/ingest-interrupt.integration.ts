/** Ctrl-C during `steme ingest`: what was read is stored, the summary says where it stopped, and going on from there stores the rest once. */
import {spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeEach(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterEach(() => sb.cleanup())

const facts = (from: number, to: number) => Array.from({length: to - from}, (_, i) => JSON.stringify({subject: `s:${from + i}`, predicate: 'p', value: from + i})).join('\n') + '\n'
const count = () => sb.json<{records: number}>(['stats']).records

/**
 * Resolves once process `p` has read from `file` (its read offset, from /proc, is past 0): it is then
 * inside the ingest, past the point where it catches the signal. Waiting on that, not on a fixed time,
 * makes the stop land part way on a loaded machine and a fast one alike: reading runs at most a few
 * 1 MiB jobs ahead of the signing workers, so the input sizes below leave most of it unread.
 */
async function untilReading(p: ChildProcess, file: string): Promise<void> {
  const pid = p.pid!
  for (;;) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`the ingest ended (${p.exitCode ?? p.signalCode}) before it was seen reading ${file}`)
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== file) continue
        if (Number(/^pos:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1]) > 0) return
      } catch {
        // The descriptor closed between the listing and the read.
      }
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** `steme ingest <args>` on `file`, sent `signal` once it is seen reading: its exit code and stderr. */
async function stopWhileReading(args: string[], file: string, signal: 'SIGINT' | 'SIGTERM'): Promise<{code: number | null; stderr: string}> {
  const p = spawn(process.execPath, [BIN, 'ingest', ...args], {cwd: sb.dir, env: sb.env})
  let stderr = ''
  p.stderr.on('data', (d) => (stderr += d))
  await untilReading(p, file)
  p.kill(signal)
  const code = await new Promise<number | null>((r) => p.on('close', r))
  return {code, stderr}
}

/** A CSV file's text: a header row, then `n` rows of plain facts. */
const csvRows = (n: number) => 'subject,predicate,value\n' + Array.from({length: n}, (_, i) => `c:${i},p,${i}`).join('\n') + '\n'

/**
 * Writes to the child's stdin and resolves once the child has taken in enough of it for the rest to fit
 * the socket's buffers (some 200 KiB here), so only after the ingest has started reading, and so
 * catches the signal. The inputs written this way are larger than those buffers for that reason.
 */
const written = (p: ChildProcessWithoutNullStreams, text: string) => new Promise<void>((r) => p.stdin.write(text, 'utf8', () => r()))

describe('steme ingest, interrupted', () => {
  it('stores the whole lines read from a pipe still open, says after which line it stopped, and the rest goes on from there', async () => {
    const p = spawn(process.execPath, [BIN, 'ingest', '-'], {cwd: sb.dir, env: sb.env})
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    // 15,000 lines (750 KB, more than the pipe holds) and the start of one more, then the pipe stays open: only the signal ends it.
    await written(p, facts(0, 15_000) + '{"subject":"cut')
    p.kill('SIGINT')
    const code = await new Promise<number | null>((r) => p.on('close', r))
    expect(code, stderr).toBe(130)
    const m = /interrupted after line (\d+) of stdin: every line up to it was ingested/.exec(stderr)
    expect(m, stderr).not.toBeNull()
    const at = Number(m![1])
    expect(at).toBeGreaterThan(0)
    expect(at).toBeLessThanOrEqual(15_000)
    expect(stdout).toContain(`${at} added, 0 already present, 0 rejected`)
    expect(count()).toBe(at)
    // Going on from the next line stores the rest, each fact once.
    const rest = sb.run(['ingest', '-'], {input: facts(at, 15_000)})
    expect(rest.code, rest.stderr).toBe(0)
    expect(count()).toBe(15_000)
    expect(sb.run(['fsck']).code).toBe(0)
  })

  it('from a pipe, the way to go on names --format ndjson: the line it stopped before may look like a JSON array', async () => {
    const p = spawn(process.execPath, [BIN, 'ingest', '-'], {cwd: sb.dir, env: sb.env})
    let stderr = ''
    p.stderr.on('data', (d) => (stderr += d))
    // A bad line, cut where the input stops for now: what is fed after the stop starts with it.
    const input = facts(0, 2000) + '["a stray line"]\n' + facts(2000, 2100)
    p.stdin.write(input.slice(0, input.indexOf('["a stray') + 4), 'utf8')
    await new Promise((r) => setTimeout(r, 2500))
    p.kill('SIGINT')
    const code = await new Promise<number | null>((r) => p.on('close', r))
    expect(code, stderr).toBe(130)
    const m = /interrupted after line (\d+) of stdin: .*to go on: feed the input from line (\d+) to `steme ([^`]*)`/.exec(stderr)
    expect(m, stderr).not.toBeNull()
    const at = Number(m![1])
    expect(Number(m![2])).toBe(at + 1)
    const goOn = m![3].split(' ')
    expect(goOn).toEqual(['ingest', '--format', 'ndjson', '-'])
    // The command as given, fed the input from that line: the stray line rejected alone, every fact stored once.
    const rest = sb.run(goOn, {input: input.split('\n').slice(at).join('\n')})
    expect(rest.code, rest.stderr).toBe(1)
    expect(rest.stdout).toContain(`${2100 - at} added, 0 already present, 1 rejected`)
    expect(count()).toBe(2100)
  })

  it('stopped with --store, the way to go on names that store (quoted as the shell needs), not the one found from here', async () => {
    const other = join(sb.dir, 'other store')
    mkdirSync(other)
    expect(sb.run(['init', '--dir', other]).code).toBe(0)
    const store = join(other, '.steme')
    const file = join(sb.dir, "it's facts.ndjson")
    // 200,000 facts (10 MB). Stopped as it starts reading, the ingest has read one to three of its 1 MiB
    // jobs (some 20,000 facts each); 200,000 is more than the most it can take in ahead of its workers
    // on two cores (3 jobs a thread and one more, read-buffer included), so the stop lands part way.
    writeFileSync(file, facts(0, 200_000))
    const {code, stderr} = await stopWhileReading([file, '--store', store], file, 'SIGINT')
    expect(code, stderr).toBe(130)
    const m = /interrupted after line (\d+) of .*: every line up to it was ingested .*to go on: (.*)$/m.exec(stderr)
    expect(m, stderr).not.toBeNull()
    const at = Number(m![1])
    expect(at).toBeLessThan(200_000)
    const command = m![2]
    expect(command).toBe(`tail -n +${at + 1} '${sb.dir}/it'\\''s facts.ndjson' | steme ingest --format ndjson --store '${store}' -`)
    // Run as given, by a shell, from where the first ingest ran (whose own store must stay empty).
    const run = spawnSync('sh', ['-c', `steme() { "${process.execPath}" "${BIN}" "$@"; }; ${command}`], {cwd: sb.dir, env: sb.env, encoding: 'utf8'})
    expect(run.status, run.stderr).toBe(0)
    expect(sb.json<{records: number}>(['stats', '--store', store]).records).toBe(200_000)
    expect(count()).toBe(0)
  })

  it('a CSV file stopped part-way prints a way to go on that keeps its header', async () => {
    const file = join(sb.dir, 'big.csv')
    // 400,000 rows (6 MB). Stopped as it starts reading, the ingest stores the rows of its first 1 MiB
    // reads (some 67,000 rows each; one or two of them here) and stops. Only those are signed, so the
    // size costs little, and it leaves room for a stop that comes several reads later.
    writeFileSync(file, csvRows(400_000))
    const {code, stderr} = await stopWhileReading([file], file, 'SIGTERM')
    expect(code, stderr).toBe(143)
    const m = /interrupted after line (\d+) of .*big\.csv: .*to go on: \(head -n 1 (\S+); tail -n \+(\d+) \2\) \| steme ingest --format csv -/.exec(stderr)
    expect(m, stderr).not.toBeNull()
    expect(Number(m![3])).toBe(Number(m![1]) + 1)
    // Line 1 is the header: every data line up to the stop is stored.
    expect(count()).toBe(Number(m![1]) - 1)
  })

  it('a file whose name starts with - is named ./-name in the way to go on, so head and tail read it as a file; run as printed, it feeds the header and the rows after the stop', async () => {
    const file = join(sb.dir, '-big.csv')
    // As in the test before: stopped as it starts reading, the ingest stores the rows of its first reads and stops part way.
    writeFileSync(file, csvRows(400_000))
    const {code, stderr} = await stopWhileReading(['--', '-big.csv'], file, 'SIGTERM')
    expect(code, stderr).toBe(143)
    const m = /interrupted after line (\d+) of -big\.csv: .*to go on: (.*)$/m.exec(stderr)
    expect(m, stderr).not.toBeNull()
    const at = Number(m![1])
    expect(at).toBeLessThan(400_001)
    const command = m![2]
    expect(command).toBe(`(head -n 1 ./-big.csv; tail -n +${at + 1} ./-big.csv) | steme ingest --format csv -`)
    // Run as given by a shell, with the ingest swapped for a look at what it would be fed: the
    // header, then the line after the stop. (Feeding the rest to a real ingest is the worker-crash
    // test's `./-facts.ndjson` case; here it would sign some 330,000 rows for nothing more.)
    const run = spawnSync('sh', ['-c', `steme() { head -n 2; }; ${command}`], {cwd: sb.dir, env: sb.env, encoding: 'utf8'})
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toBe(`subject,predicate,value\nc:${at - 1},p,${at - 1}\n`)
  })

  it('a JSON array stopped while still being read says nothing of it was stored, not that it is invalid, and it can be ingested again', async () => {
    const p = spawn(process.execPath, [BIN, 'ingest', '-'], {cwd: sb.dir, env: sb.env})
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    // The start of an array (600 KB, more than the pipe holds), then the pipe stays open: only the signal ends the reading.
    const elements = facts(0, 15_000).trim().split('\n')
    await written(p, '[\n' + elements.slice(0, 12_000).join(',\n') + ',\n')
    p.kill('SIGINT')
    const code = await new Promise<number | null>((r) => p.on('close', r))
    expect(code, stderr).toBe(130)
    expect(stderr).not.toContain('not a valid JSON array')
    expect(stderr).toMatch(/interrupted while reading stdin: nothing from it was stored.*ingest it again/)
    expect(stdout).toContain('0 added, 0 already present, 0 rejected')
    expect(count()).toBe(0)
    const again = sb.run(['ingest', '-'], {input: '[' + elements.join(',\n') + ']\n'})
    expect(again.code, again.stderr).toBe(0)
    expect(count()).toBe(15_000)
  })
})
