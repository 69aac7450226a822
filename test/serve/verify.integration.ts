/** POST /v1/verify over real HTTP: the same report as `steme verify --json`, store claims through each claim's lens, errors, roles; "record" is refused (the daemon never signs). */
import {execFile} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {verifyOp} from '../../src/ops/verify.js'
import {REQUEST_LIMITS, verifyRequestOp} from '../../src/ops/verify-request.js'
import {RemoteClient, VERIFY_LIMITS} from '../../src/serve/client.js'
import {openRuntime, type Runtime} from '../../src/runtime.js'
import {createServer, DEFAULTS, type Server} from '../../src/serve/app.js'
import {TokenFile} from '../../src/serve/tokens.js'
import {gitIn, tempDir, writeFiles} from '../claims/helpers.js'

const BIN = resolve(import.meta.dirname, '../../bin/run.js')
const pexec = promisify(execFile)

const CLAIMS = `[[claim]]
id = "pkg-name"
subject = "repo:package"
predicate = "name"
expect = "demo"

[[claim]]
id = "node-engine"
subject = "repo:package"
predicate = "engines.node"
expect = "20"
compare = "gte"
why = "we use Node 20 APIs"

[[claim]]
id = "strict"
subject = "repo:tsconfig"
predicate = "compilerOptions.strict"
expect = true

[[claim]]
id = "no-such-thing"
subject = "repo:package"
predicate = "dependencies.left-pad"
compare = "present"
severity = "warn"

[[claim]]
id = "owner-latest"
subject = "team:payments"
predicate = "owner"
expect = "alice"

[[claim]]
id = "owner-confident"
subject = "team:payments"
predicate = "owner"
expect = "alice"
lens = "confidence"
`

const FILES = {
  'package.json': JSON.stringify({name: 'demo', version: '1.0.0', engines: {node: '>=18'}, dependencies: {express: '^4.0.0'}}, null, 2),
  'tsconfig.json': '{"compilerOptions": {"strict": false}}\n',
  '.steme/claims.toml': CLAIMS,
}

type Run = {code: number; stdout: string; stderr: string}

describe('POST /v1/verify', () => {
  const repo = tempDir('steme-verify-http-')
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH, HOME: repo, XDG_CONFIG_HOME: join(repo, '.xdg'), NO_COLOR: '1'}
  const steme = async (args: string[], input?: string): Promise<Run> => {
    const p = pexec(process.execPath, [BIN, ...args], {cwd: repo, env, maxBuffer: 64 * 1024 * 1024})
    if (input !== undefined) p.child.stdin!.end(input)
    try {
      const {stdout, stderr} = await p
      return {code: 0, stdout, stderr}
    } catch (e) {
      const x = e as Run
      return {code: x.code, stdout: x.stdout, stderr: x.stderr}
    }
  }
  let local: Record<string, unknown>
  let localCode: number
  let rt: Runtime
  let server: Server
  let url: string
  let tok: {read: string; write: string}
  const post = async (body: unknown, token: string | null = tok.read, type = 'application/json') => {
    const headers: Record<string, string> = {'content-type': type}
    if (token) headers.authorization = `Bearer ${token}`
    const res = await fetch(`${url}/v1/verify`, {method: 'POST', headers, body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)})
    const text = await res.text()
    return {status: res.status, body: JSON.parse(text), text}
  }

  beforeAll(async () => {
    gitIn(repo, 'init', '-q')
    writeFiles(repo, FILES)
    expect((await steme(['init', '--dir', repo])).code).toBe(0)
    // Recency says bob (stated last); the confidence lens says alice (stated with more confidence).
    // Two sources, so the one agent stands behind both: from one source, bob would be its latest word.
    const facts = [
      '{"subject":"team:payments","predicate":"owner","value":"alice","confidence":0.95,"source":"hr:roster"}',
      '{"subject":"team:payments","predicate":"owner","value":"bob","confidence":0.4,"source":"chat:standup"}',
    ]
    for (const f of facts) expect((await steme(['ingest', '-', '--json'], f + '\n')).code).toBe(0)
    const v = await steme(['verify', '--json'])
    localCode = v.code
    local = JSON.parse(v.stdout)
    rt = await openRuntime({cwd: repo, env})
    const tokens = new TokenFile(join(repo, '.tokens', 'tokens.json'))
    tok = {read: tokens.create('read', 'r').token, write: tokens.create('write', 'w').token}
    server = await createServer({deps: rt, tokens, threads: 0})
    url = await server.app.listen({host: '127.0.0.1', port: 0})
  }, 60_000)
  afterAll(async () => {
    await server?.close()
    await rt?.close()
  })

  it('local verify sees what the test is about: file verdicts of every kind and store claims through their lens', () => {
    expect(localCode).toBe(1)
    const status = Object.fromEntries((local.verdicts as Array<{id: string; status: string}>).map((v) => [v.id, v.status]))
    expect(status).toEqual({'pkg-name': 'PASS', 'node-engine': 'CONFLICT', strict: 'CONFLICT', 'no-such-thing': 'MISSING', 'owner-latest': 'CONFLICT', 'owner-confident': 'PASS'})
    expect(local.store).toBe('used')
  })

  it('answers the same report as `steme verify --json` for the same claims and observations', async () => {
    const {observations} = await verifyOp({}, {cwd: repo})
    const r = await post({claims: CLAIMS, name: '.steme/claims.toml', observations})
    expect(r.status, r.text).toBe(200)
    const {root: _root, claimsFrom, ...same} = local
    expect(claimsFrom).toBe('worktree')
    expect(r.body).toEqual({...same, claimsFrom: 'request'})
  })

  it('`steme verify --remote` sends it and prints exactly what local mode prints', async () => {
    const v = await steme(['verify', '--json', '--remote', url, '--token', tok.read])
    expect(v.stderr).not.toMatch(/error/)
    expect(v.code).toBe(localCode)
    expect(JSON.parse(v.stdout)).toEqual(local)
  })

  it('`--remote` with more observations than one request takes: sent in parts, the same report as judging them all here', async () => {
    const {observations} = await verifyOp({}, {cwd: repo})
    // Unclaimed observations about a claimed subject: the bulk a big repo's extractors produce.
    const extra = Array.from({length: 150_000}, (_, i) => ({subject: 'repo:package', predicate: `scripts.s${i}`, value: 'x'.repeat(i % 50), file: 'package.json', line: i + 1, via: 'json'}))
    const req = {claims: CLAIMS, name: '.steme/claims.toml', observations: [...extra.slice(0, 70_000), ...observations, ...extra.slice(70_000)]}
    expect((await post(req)).status).toBe(400)
    const here = await verifyRequestOp({openStore: async () => ({store: rt.store, config: rt.config})}, req)
    expect(here.unclaimed.length).toBeGreaterThan(150_000)
    const client = new RemoteClient(url, tok.read)
    expect(await client.verify(req)).toEqual(here)
    // Small limits: many parts, split by count and by bytes.
    expect(await client.verify(req, {observations: 9_000, bytes: 4_000_000})).toEqual(here)
    expect(await client.verify(req, {observations: 100_000, bytes: 1_000_000})).toEqual(here)
    expect(VERIFY_LIMITS.observations).toBe(REQUEST_LIMITS.observations)
    expect(VERIFY_LIMITS.bytes).toBeLessThan(DEFAULTS.bodyLimit)
  })

  it('`--remote` refuses, naming the limit, when the observations the claims bear on alone are over it', async () => {
    const {observations} = await verifyOp({}, {cwd: repo})
    const client = new RemoteClient(url, tok.read)
    await expect(client.verify({claims: CLAIMS, observations}, {observations: 2, bytes: 1_000_000})).rejects.toMatchObject({
      code: 'too_large',
      message: expect.stringMatching(/over what one POST \/v1\/verify takes \(2 observations, 1000000 bytes\)/),
      hint: expect.stringMatching(/--claims/),
    })
  })

  it('a failing run is still a 200 report; failOnWarn and a baseline change only what fails', async () => {
    const obs = [{subject: 'repo:package', predicate: 'name', value: 'demo', file: 'package.json', line: 2}]
    const plain = await post({claims: CLAIMS, observations: obs})
    expect(plain.body.summary).toMatchObject({claims: 6, failing: 3})
    const warn = await post({claims: CLAIMS, observations: obs, failOnWarn: true})
    expect(warn.body.summary.failing).toBe(4)
    const baseline = {version: 1, claims: {'node-engine': {status: 'MISSING', severity: 'error', message: ''}, 'pkg-name': {status: 'CONFLICT', severity: 'error', message: ''}}}
    const based = await post({claims: CLAIMS, observations: obs, baseline})
    expect(based.body.summary).toMatchObject({failing: 2, known: 1})
    expect(based.body.baseline).toEqual({fixed: ['pkg-name']})
    expect(based.body.verdicts.find((v: {id: string}) => v.id === 'node-engine')).toMatchObject({baseline: 'known', fails: false})
  })

  describe('malformed claims are 400 invalid_claims with the line (and column for TOML syntax)', () => {
    const cases: Array<[string, string, number, number | undefined, RegExp]> = [
      ['TOML syntax', '[[claim]]\nid = "a"\nsubject = \n', 3, 11, /not valid TOML/],
      ['unknown comparison', '\n[[claim]]\nid = "a"\nsubject = "s"\npredicate = "p"\nexpect = 1\ncompare = "near"\n', 7, undefined, /unknown comparison "near"/],
      ['invalid regex', '[[claim]]\nid = "a"\nsubject = "s"\npredicate = "p"\nexpect = "(("\ncompare = "matches"\n', 5, undefined, /invalid regular expression/],
      ['unknown lens', '[[claim]]\nid = "a"\nsubject = "s"\npredicate = "p"\nexpect = 1\n\n[[claim]]\nid = "b"\nsubject = "s"\npredicate = "p"\nexpect = 1\nlens = "no-such-lens"\n', 7, undefined, /unknown lens/],
    ]
    for (const [name, claims, line, column, msg] of cases) {
      it(name, async () => {
        const r = await post({claims, observations: []})
        expect(r.status, r.text).toBe(400)
        expect(r.body.error.code).toBe('invalid_claims')
        expect(r.body.error.message).toMatch(msg)
        expect(r.body.error.message).toContain(`claims.toml:${line}`)
        expect(r.body.error.line).toBe(line)
        expect(r.body.error.column).toBe(column)
        expect(r.text).not.toMatch(/\n\s+at |node_modules/)
      })
    }
  })

  it('bad bodies are 4xx with a stable code, never a 500', async () => {
    const bad: Array<[unknown, number, string, RegExp?]> = [
      ['{"claims": ', 400, 'bad_request'],
      [Buffer.from(JSON.stringify({claims: CLAIMS.replace('[[claim]]', '# café\n[[claim]]')}), 'latin1'), 400, 'bad_request', /not UTF-8/],
      ['[]', 400, 'usage', /JSON object/],
      [{observations: []}, 400, 'usage', /"claims"/],
      [{claims: CLAIMS, observations: {}}, 400, 'usage', /array/],
      [{claims: CLAIMS, observations: [{subject: 's', value: 1}]}, 400, 'usage', /observations\[0\]/],
      [{claims: CLAIMS, observations: [{subject: 's', predicate: 'p'}]}, 400, 'usage', /"value"/],
      [{claims: CLAIMS, observations: [{subject: 's', predicate: 'p', value: 1, via: 'store'}]}, 400, 'usage', /reserved/],
      [{claims: CLAIMS, observations: [{subject: 's', predicate: 'p', value: 1, line: 0}]}, 400, 'usage', /line/],
      [{claims: CLAIMS, fail_on_warn: true}, 400, 'usage', /unknown field "fail_on_warn"/],
      [{claims: CLAIMS, baseline: {claims: {}}}, 400, 'usage', /baseline/],
      [{claims: CLAIMS, record: 'yes'}, 400, 'usage', /record/],
    ]
    for (const [body, status, code, msg] of bad) {
      const r = await post(body)
      expect(r.status, JSON.stringify(body)).toBe(status)
      expect(r.body.error.code).toBe(code)
      if (msg) expect(r.body.error.message).toMatch(msg)
    }
    const csv = await post('a,b\n', tok.read, 'text/csv')
    expect(csv.status).toBe(415)
    const ndjson = await post('{}\n', tok.read, 'application/x-ndjson')
    expect(ndjson.status).toBe(415)
    expect(ndjson.body.error.code).toBe('unsupported_media_type')
  })

  it('needs a token; "record": true is refused for every role, since the daemon never signs; `verify --record --remote` signs here', async () => {
    expect((await post({claims: CLAIMS}, null)).status).toBe(401)
    const before = (await rt.store.stats()).records
    const {observations} = await verifyOp({}, {cwd: repo})
    for (const token of [tok.read, tok.write]) {
      const r = await post({claims: CLAIMS, observations, record: true}, token)
      expect(r.status, r.text).toBe(400)
      expect(r.body.error.code).toBe('usage')
      expect(r.body.error.message).toMatch(/never signs/)
      expect(r.body.error.hint).toMatch(/steme verify --record --remote/)
    }
    expect((await rt.store.stats()).records).toBe(before)

    // The supported way: the client's key signs the verdicts, which are posted as records.
    const v = await steme(['verify', '--json', '--record', '--remote', url, '--token', tok.write])
    expect(v.code, v.stderr).toBe(localCode)
    const q = await fetch(`${url}/v1/log?subject=${encodeURIComponent('claim:owner-confident')}`, {headers: {authorization: `Bearer ${tok.read}`}})
    const {records} = (await q.json()) as {records: Array<{agent: string; predicate: string; value: {status: string}}>}
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({predicate: 'verdict', value: {status: 'PASS'}})
  })

  it('a daemon without a key verifies', async () => {
    const bare = tempDir('steme-verify-nokey-')
    mkdirSync(join(bare, 'xdg'))
    const rt2 = await openRuntime({store: join(bare, 'store.duckdb'), create: true, env: {XDG_CONFIG_HOME: join(bare, 'xdg')}})
    const tokens = new TokenFile(join(bare, 'tokens.json'))
    const w = tokens.create('write', 'w').token
    const s2 = await createServer({deps: rt2, tokens, threads: 0})
    const u2 = await s2.app.listen({host: '127.0.0.1', port: 0})
    try {
      // Its store is empty, so store claims are MISSING.
      const ok = await fetch(`${u2}/v1/verify`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${w}`}, body: JSON.stringify({claims: CLAIMS})})
      const rep = (await ok.json()) as {verdicts: Array<{id: string; status: string}>; store: string}
      expect(rep.store).toBe('used')
      expect(rep.verdicts.find((v) => v.id === 'owner-latest')?.status).toBe('MISSING')
    } finally {
      await s2.close()
      await rt2.close()
    }
  })
})
