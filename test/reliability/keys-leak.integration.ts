/**
 * Private keys never leak: every command's normal and error paths (text and --json), the CLI
 * through a daemon, and the daemon's own debug log, scanned for the signing key in every form
 * (hex seed, base64, PKCS#8 DER and PEM, the 64-byte secret key, the key file's contents).
 */
import {spawn} from 'node:child_process'
import {createPrivateKey} from 'node:crypto'
import {existsSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type RunResult, type Sandbox} from '../helpers/cli.js'
import {FULL, report} from '../helpers/report.js'

let sb: Sandbox
let keyFile: string
let needles: Array<{form: string; text: string}>
const outputs: Array<{what: string; text: string}> = []

/** Every spelling of the 32-byte seed (and the 64-byte secret key) we can think of. */
function forms(seedHex: string, fileText: string): Array<{form: string; text: string}> {
  const seed = Buffer.from(seedHex, 'hex')
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const pem = createPrivateKey({key: der, format: 'der', type: 'pkcs8'}).export({format: 'pem', type: 'pkcs8'}).toString()
  const pemBody = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('')
  const pub = JSON.parse(fileText).agent as string
  const secret64 = Buffer.concat([seed, Buffer.from(pub, 'hex')])
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '')
  const out = [
    {form: 'hex seed', text: seedHex},
    {form: 'HEX seed', text: seedHex.toUpperCase()},
    {form: 'base64 seed', text: b64(seed)},
    {form: 'base64url seed', text: seed.toString('base64url')},
    {form: 'PKCS#8 DER hex', text: der.toString('hex')},
    {form: 'PKCS#8 PEM body', text: pemBody},
    {form: 'PEM first line', text: pemBody.slice(0, 40)},
    {form: '64-byte secret key hex', text: secret64.toString('hex').slice(0, 64)},
    {form: '64-byte secret key base64', text: b64(secret64)},
    {form: 'key file contents', text: fileText.trim()},
    // Any 32-hex-char window of the seed, so a truncated or wrapped print is caught too.
    ...[0, 16, 32].map((i) => ({form: `seed hex [${i}..${i + 32}]`, text: seedHex.slice(i, i + 32)})),
  ]
  return out
}

function scan(what: string, text: string): void {
  outputs.push({what, text})
  for (const n of needles) expect(text.includes(n.text), `${what} leaks the private key (${n.form})`).toBe(false)
}

interface Case {
  args: string[]
  input?: string
  env?: NodeJS.ProcessEnv
  expect?: 'ok' | 'fail'
  /** Run at the bounded scale too (the paths that touch key material); the rest only at full scale. */
  keyPath?: boolean
}

function runAsync(c: Case): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...c.args], {cwd: sb.dir, env: {...sb.env, ...c.env}})
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
    p.stdin.end(c.input ?? '')
  })
}

/** Run the cases, in text and --json forms, and scan everything they print. */
async function runAll(cases: Case[]): Promise<void> {
  // Full scale: both forms of every case. Bounded: the key paths, text and --json alternating.
  const jobs = FULL ? cases.flatMap((c) => [c, {...c, args: [...c.args, '--json']}]) : cases.filter((c) => c.keyPath).map((c, i) => (i % 2 ? {...c, args: [...c.args, '--json']} : c))
  // One at a time: DuckDB admits one process per store file.
  {
    {
      for (const c of jobs) {
        const r = await runAsync(c)
        const what = `steme ${c.args.join(' ')}${c.env ? ' ' + JSON.stringify(Object.keys(c.env)) : ''}`
        if (c.expect === 'ok') expect(r.code, `${what}: ${r.stderr}`).toBe(0)
        if (c.expect === 'fail') expect(r.code, `${what}: ${r.stdout}`).not.toBe(0)
        scan(`${what} (stdout)`, r.stdout)
        scan(`${what} (stderr)`, r.stderr)
      }
    }
  }
}

beforeAll(() => {
  sb = sandbox('steme-keyleak-')
})
afterAll(() => sb.cleanup())

describe('private keys never appear in any output, log or error', () => {
  it('key files are 0600 in a 0700 directory', () => {
    const init = sb.run(['init'])
    expect(init.code, init.stderr).toBe(0)
    const dir = join(sb.dir, 'xdg', 'steme', 'keys')
    const files = readdirSync(dir).filter((f) => f.endsWith('.key'))
    expect(files.length).toBe(1)
    keyFile = join(dir, files[0])
    const text = readFileSync(keyFile, 'utf8')
    needles = forms(JSON.parse(text).seed, text)
    scan('steme init (stdout)', init.stdout)
    scan('steme init (stderr)', init.stderr)
    const second = sb.run(['keys', 'generate', '--name', 'second'])
    expect(second.code, second.stderr).toBe(0)
    scan('steme keys generate', second.stdout + second.stderr)
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.key'))) expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600')
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700')
    needles.push(...forms(JSON.parse(readFileSync(join(dir, 'second.key'), 'utf8')).seed, readFileSync(join(dir, 'second.key'), 'utf8')))
  })

  it(`${FULL ? 'every command' : 'the commands that load or make keys'}, normal and error paths, text and --json`, {timeout: 300_000}, async () => {
    await runAll([
      {args: ['assert', 'drug:aspirin', 'dose', '81mg'], expect: 'ok', keyPath: true},
      {args: ['ingest', '-'], input: '{"subject":"drug:x","predicate":"p","value":1}\nnot json\n{"subject":"drug:x","predicate":"p","value":2,"sig":"00"}\n', keyPath: true},
    ])
    const id = JSON.parse(sb.run(['log', '--json']).stdout).records[0].id as string
    const bad = needles[0].text.slice(0, 63)
    const damaged = join(sb.dir, 'damaged.key')
    writeFileSync(damaged, readFileSync(keyFile, 'utf8').slice(0, -20), {mode: 0o600})
    const open = join(sb.dir, 'open.key')
    writeFileSync(open, readFileSync(keyFile, 'utf8'), {mode: 0o644})
    await runAll([
      {args: ['keys', 'list'], expect: 'ok'},
      {args: ['whoami'], expect: 'ok', keyPath: true},
      {args: ['keys', 'generate', '--name', 'second'], expect: 'fail', keyPath: true},
      {args: ['assert', 'drug:aspirin', 'dose', '81mg', '--key', 'second'], expect: 'ok'},
      {args: ['assert', 'drug:aspirin', 'dose', '81mg', '--confidence', '7'], expect: 'fail'},
      {args: ['assert', 'drug:aspirin', 'dose', '81mg', '--key', 'nope'], expect: 'fail', keyPath: true},
      // Broken key material: the errors name the problem, never the material.
      {args: ['assert', 's', 'p', '1'], env: {STEME_KEY: bad}, expect: 'fail', keyPath: true},
      {args: ['assert', 's', 'p', '1'], env: {STEME_KEY: needles[0].text + 'x'}, expect: 'fail'},
      {args: ['whoami'], env: {STEME_KEY: needles[0].text}, expect: 'ok', keyPath: true},
      {args: ['whoami'], env: {STEME_KEY: keyFile}, expect: 'ok'},
      {args: ['whoami'], env: {STEME_KEY: damaged}, expect: 'fail', keyPath: true},
      {args: ['whoami'], env: {STEME_KEY: open}, expect: 'fail', keyPath: true},
      {args: ['vote', id, '--weight', '1']},
      {args: ['query', 'drug:aspirin'], expect: 'ok'},
      {args: ['query', 'drug:aspirin', '--lens', 'nonsense(('], expect: 'fail'},
      {args: ['log'], expect: 'ok'},
      {args: ['show', id], expect: 'ok'},
      {args: ['show', 'f'.repeat(64)], expect: 'fail'},
      {args: ['retract', id, '--reason', 'test']},
      {args: ['epoch', 'e1', '--starts', '2024-01-01']},
      {args: ['trust', 'a'.repeat(64), '--weight', '0.5']},
      {args: ['trust', 'list']},
      {args: ['stats'], expect: 'ok'},
      {args: ['conflicts']},
      {args: ['coverage']},
      {args: ['fsck'], expect: 'ok'},
      {args: ['export']},
      {args: ['claims', 'list']},
      {args: ['remote', 'list']},
      {args: ['pull', join(sb.dir, 'nowhere')], expect: 'fail'},
      {args: ['serve', 'token', 'create', '--role', 'read'], expect: 'ok'},
      {args: ['serve', 'token', 'list'], expect: 'ok'},
      {args: ['no-such-command'], expect: 'fail'},
    ])
  })

  it('the daemon: its debug log, and the CLI going through it, with good and bad requests', {timeout: 120_000}, async () => {
    const state = join(sb.dir, '.steme', 'state', 'serve.json')
    const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--log-level', 'debug'], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    let log = ''
    proc.stdout!.on('data', (d) => (log += d))
    proc.stderr!.on('data', (d) => (log += d))
    const exited = new Promise((r) => proc.on('exit', r))
    try {
      for (let i = 0; i < 600 && !existsSync(state); i++) await new Promise((r) => setTimeout(r, 50))
      expect(existsSync(state), log).toBe(true)
      const {url} = JSON.parse(readFileSync(state, 'utf8'))
      scan('serve.json', readFileSync(state, 'utf8'))
      const token = sb.run(['serve', 'token', 'create', '--role', 'write']).stdout.trim()
      // Local commands find the daemon and go through it; --remote the same.
      await runAll([
        {args: ['assert', 'drug:aspirin', 'dose', '100mg'], expect: 'ok'},
        {args: ['assert', 'drug:aspirin', 'dose', '100mg', '--remote', url, '--token', token], expect: 'ok', keyPath: true},
        {args: ['ingest', '-', '--remote', url, '--token', token], input: '{"subject":"d","predicate":"p","value":1}\nbad\n', keyPath: true},
        {args: ['query', 'drug:aspirin', '--remote', url, '--token', 'stm_wrong'], expect: 'fail', keyPath: true},
        {args: ['fsck'], expect: 'fail'},
      ])
      for (const body of ['{"subject":"x","predicate":"y","value":1}', 'garbage', '[' + '['.repeat(100)]) {
        const r = await fetch(`${url}/v1/records`, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson'}, body})
        scan(`POST /v1/records ${body.slice(0, 20)}`, await r.text())
      }
    } finally {
      proc.kill('SIGTERM')
      await exited
    }
    expect(log).toMatch(/"level":20|steme serve ready/)
    scan('steme serve --log-level debug (log)', log)
    // Files the daemon and the CLI write besides the key files.
    for (const f of ['config.toml', 'state/tokens.json']) if (existsSync(join(sb.dir, '.steme', f))) scan(f, readFileSync(join(sb.dir, '.steme', f), 'utf8'))
    report({suite: 'private key never printed', faults: 0, inputs: outputs.length, lost: 0, invalidStored: 0, crashes: 0})
  })
})
