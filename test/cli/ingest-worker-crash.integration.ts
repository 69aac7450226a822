/**
 * `steme ingest` whose verify worker thread dies part way: still an internal error (exit 1), but
 * said with the progress it knows, as a full disk or a lost PostgreSQL server is: the counts, the
 * line to go on from and the `tail -n +N` command, on stderr and as `progress` in the --json
 * document. Going on with that command stores every fact once.
 *
 * The worker is really stopped, in the real CLI process: a module preloaded with --import (only
 * here, through NODE_OPTIONS) holds back the Nth chunk handed to a worker thread and terminates
 * that thread once it has answered for the chunks it had before, so the chunk is lost and every
 * chunk before it is checked.
 */
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

const STOP_WORKER = `import {isMainThread, Worker} from 'node:worker_threads'
if (isMainThread) {
  const at = Number(process.env.STOP_WORKER_AT_CHUNK)
  let posted = 0
  const open = new WeakMap()
  const post = Worker.prototype.postMessage
  Worker.prototype.postMessage = function (msg, transfer) {
    if (msg === null || typeof msg !== 'object' || typeof msg.seq !== 'number') return post.call(this, msg, transfer)
    if (!open.has(this)) {
      open.set(this, {jobs: 0, stopAfter: undefined})
      this.on('message', (m) => {
        const o = open.get(this)
        if (m === null || typeof m !== 'object' || typeof m.seq !== 'number') return
        o.jobs--
        if (o.stopAfter !== undefined && --o.stopAfter === 0) void this.terminate()
      })
    }
    const o = open.get(this)
    if (++posted !== at) {
      o.jobs++
      return post.call(this, msg, transfer)
    }
    // The chunk is never sent: the thread stops once its earlier chunks are answered.
    if (o.jobs === 0) void this.terminate()
    else o.stopAfter = o.jobs
  }
}
`

let sb: Sandbox
let file: string
let lines: string[]
let preload: string
beforeAll(() => {
  sb = sandbox('steme-ingest-worker-')
  expect(sb.run(['init']).code).toBe(0)
  preload = join(sb.dir, 'stop-worker.mjs')
  writeFileSync(preload, STOP_WORKER)
  // About 1 MiB chunks of 110-byte lines: some 9,500 lines a chunk, so the sixth is lost part way
  // through the input. A bad line now and then, so rejections before the line are counted too.
  lines = []
  for (let i = 1; lines.length < 80_000; i++) lines.push(i % 4999 === 0 ? '{bad json' : JSON.stringify({subject: `s:${i % 300}`, predicate: 'p', value: `${'x'.repeat(60)}${i}`}))
  file = join(sb.dir, 'facts.ndjson')
  writeFileSync(file, lines.join('\n') + '\n')
})
afterAll(() => sb.cleanup())

const crashed = (args: string[]) => sb.run(args, {env: {NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, STOP_WORKER_AT_CHUNK: '6'}})

it('a worker that dies: internal error, exit 1, with what was stored and the tail command to go on; going on stores every fact once', () => {
  const r = crashed(['ingest', file, '--threads', '2', '--json'])
  expect(r.code, r.stderr).toBe(1)
  const out = r.stdout.trim().split('\n')
  expect(out).toHaveLength(1)
  const {error} = JSON.parse(out[0]) as {error: {code: string; message: string; hint: string; progress: {added: number; present: number; rejected: number; lastLine: number}}}
  expect(error.code).toBe('internal')
  expect(error.message).toMatch(/^ingest worker \d+ exited \(code \d+\) while checking a chunk of input$/)
  const {progress} = error
  expect(progress.lastLine).toBeGreaterThan(0)
  expect(progress.lastLine).toBeLessThan(lines.length)
  const upTo = lines.slice(0, progress.lastLine)
  expect(progress).toEqual({added: upTo.filter((l) => l.startsWith('{"subject"')).length, present: 0, rejected: upTo.filter((l) => l === '{bad json').length, lastLine: progress.lastLine})
  const tail = `tail -n +${progress.lastLine + 1} ${file} | steme ingest --format ndjson -`
  expect(error.hint).toBe(
    `before the failure: ${progress.added} added, 0 already present, ${progress.rejected} rejected; every line up to ${progress.lastLine} of ${file} was stored or rejected, and none after it stored: to go on, ${tail}; this is a bug in steme: please report it with the command and this message (run it again with STEME_DEBUG=1 for the stack trace on stderr)`,
  )
  // On stderr for a person: the bug, then the same way to go on.
  expect(r.stderr).toMatch(/^internal error \(a bug in steme, please report it\): ingest worker \d+ exited/)
  expect(r.stderr).toContain(`\nhint: before the failure: ${progress.added} added, 0 already present, ${progress.rejected} rejected; every line up to ${progress.lastLine} of ${file}`)
  expect(r.stderr).toContain(tail)
  expect(sb.json<{records: number}>(['stats']).records).toBe(progress.added)

  // Go on as the hint says: every fact stored once, none twice.
  const rest = spawnSync('tail', ['-n', `+${progress.lastLine + 1}`, file], {encoding: 'utf8', maxBuffer: 64 << 20}).stdout
  const more = sb.run(['ingest', '--format', 'ndjson', '-', '--json'], {input: rest})
  expect(more.code).toBe(1) // the bad lines after lastLine are rejected there
  const res = JSON.parse(more.stdout) as {added: number; rejected: number}
  expect(progress.rejected + res.rejected).toBe(lines.filter((l) => l === '{bad json').length)
  expect(sb.json<{records: number}>(['stats']).records).toBe(lines.filter((l) => l.startsWith('{"subject"')).length)
}, 180_000)

it('a file whose name starts with -: the way to go on names it ./-name, so tail reads it as a file; run as printed, every fact is stored once', () => {
  const own = sandbox('steme-ingest-worker-dash-')
  try {
    expect(own.run(['init']).code).toBe(0)
    writeFileSync(join(own.dir, '-facts.ndjson'), lines.join('\n') + '\n')
    const r = own.run(['ingest', '--threads', '2', '--json', '--', '-facts.ndjson'], {env: {NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, STOP_WORKER_AT_CHUNK: '6'}})
    expect(r.code, r.stderr).toBe(1)
    const {error} = JSON.parse(r.stdout) as {error: {code: string; hint: string; progress: {lastLine: number}}}
    expect(error.code).toBe('internal')
    const {lastLine} = error.progress
    expect(lastLine).toBeGreaterThan(0)
    const m = /of -facts\.ndjson was stored or rejected, and none after it stored: to go on, (tail [^;]*);/.exec(error.hint)
    expect(m, error.hint).not.toBeNull()
    const command = m![1]
    expect(command).toBe(`tail -n +${lastLine + 1} ./-facts.ndjson | steme ingest --format ndjson -`)
    // Run as given, by a shell, where the first ingest ran.
    const run = spawnSync('sh', ['-c', `steme() { "${process.execPath}" "${BIN}" "$@"; }; ${command}`], {cwd: own.dir, env: own.env, encoding: 'utf8'})
    expect(run.status, run.stderr).toBe(1) // the bad lines after lastLine are rejected there
    expect(run.stderr).not.toMatch(/invalid option|unrecognized option/)
    expect(own.json<{records: number}>(['stats']).records).toBe(lines.filter((l) => l.startsWith('{"subject"')).length)
  } finally {
    own.cleanup()
  }
}, 180_000)

it('from stdin: the way to go on names --format ndjson, so the rest is read as lines whatever its first line looks like', () => {
  const r = sb.run(['ingest', '-', '--threads', '2', '--json'], {input: lines.join('\n') + '\n', env: {NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, STOP_WORKER_AT_CHUNK: '6'}})
  expect(r.code, r.stderr).toBe(1)
  const {error} = JSON.parse(r.stdout) as {error: {code: string; hint: string; progress: {added: number; lastLine: number}}}
  expect(error.code).toBe('internal')
  const {lastLine} = error.progress
  expect(lastLine).toBeGreaterThan(0)
  const m = new RegExp(`every line up to ${lastLine} of stdin was stored or rejected, and none after it stored: to go on, feed the input from line ${lastLine + 1} to \`steme ([^\`]*)\``).exec(error.hint)
  expect(m, error.hint).not.toBeNull()
  const goOn = m![1].split(' ')
  expect(goOn).toEqual(['ingest', '--format', 'ndjson', '-'])
  // The command as given, fed a rest whose first line is a stray JSON array (a bad line, as any
  // line of NDJSON may be): it is rejected alone, not taken for the start of a JSON array document.
  const before = sb.json<{records: number}>(['stats']).records
  const rest = ['["stray"]', ...lines.slice(lastLine, lastLine + 50)]
  const more = sb.run([...goOn, '--json'], {input: rest.join('\n') + '\n'})
  const res = JSON.parse(more.stdout) as {added: number; rejected: number}
  expect(res.rejected).toBe(1 + rest.slice(1).filter((l) => l === '{bad json').length)
  expect(sb.json<{records: number}>(['stats']).records).toBe(before + rest.slice(1).filter((l) => l.startsWith('{"subject"')).length)
}, 180_000)

// A verify worker thread that throws (an uncaught error in it), and one handed a chunk it fails on
// (its job's input taken away on the way, so checking it throws): a bug either way.
const THROW_IN_WORKER = `import {isMainThread, parentPort, Worker} from 'node:worker_threads'
const at = Number(process.env.BREAK_CHUNK_AT)
if (!isMainThread && parentPort && process.env.BREAK_HOW === 'throw') {
  let n = 0
  parentPort.on('message', (m) => {
    if (m !== null && typeof m === 'object' && typeof m.seq === 'number' && ++n === at) setImmediate(() => { throw new Error('worker boom') })
  })
}
if (isMainThread && process.env.BREAK_HOW === 'fail') {
  let posted = 0
  const post = Worker.prototype.postMessage
  Worker.prototype.postMessage = function (msg, transfer) {
    if (msg === null || typeof msg !== 'object' || typeof msg.seq !== 'number' || ++posted !== at) return post.call(this, msg, transfer)
    return post.call(this, {...msg, lines: undefined, text: undefined}, [])
  }
}
`

it.each(['throw', 'fail'])('a worker that %ss: its error in the message, its stack only on stderr with STEME_DEBUG, never in the JSON document', (how) => {
  const breaker = join(sb.dir, 'break-worker.mjs')
  writeFileSync(breaker, THROW_IN_WORKER)
  const env = {NODE_OPTIONS: `--import=${pathToFileURL(breaker).href}`, BREAK_HOW: how, BREAK_CHUNK_AT: '2'}
  const r = sb.run(['ingest', file, '--threads', '2', '--json'], {env})
  expect(r.code, r.stderr).toBe(1)
  const out = r.stdout.trim().split('\n')
  expect(out).toHaveLength(1)
  const {error} = JSON.parse(out[0]) as {error: {code: string; message: string}}
  expect(error.code).toBe('internal')
  expect(error.message).toMatch(how === 'throw' ? /^ingest worker \d+ failed: Error: worker boom while checking a chunk of input$/ : /^ingest worker failed: TypeError: /)
  expect(error.message).not.toMatch(/\n|\bat .*:\d+:\d+/)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  // Looking into the bug: the worker's own stack, on stderr.
  const debug = sb.run(['ingest', file, '--threads', '2', '--json'], {env: {...env, STEME_DEBUG: '1'}})
  expect(debug.code).toBe(1)
  expect(debug.stderr).toMatch(how === 'throw' ? /caused by: Error: worker boom\n\s+at .*break-worker\.mjs/ : /caused by: TypeError: [^\n]*\n\s+at .*ingest-check\.js/)
  expect((JSON.parse(debug.stdout) as {error: {message: string}}).error.message).not.toMatch(/\n/)
}, 180_000)
