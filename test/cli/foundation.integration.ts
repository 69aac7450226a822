import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, readFileSync, statSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, holdStore, sandbox, tamperStore, type Sandbox} from '../helpers/cli.js'
import {sandboxFrom} from '../helpers/fixture.js'

let sb: Sandbox
// A second store made by `steme init` and left as it was made: a test that needs a new store of
// its own changes a copy of it (sandboxFrom), rather than running init again.
let fresh: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  fresh = sandbox()
  expect(fresh.run(['init']).code).toBe(0)
})
afterAll(() => {
  sb.cleanup()
  fresh?.cleanup()
})

describe('steme CLI on a real DuckDB file', () => {
  it('init creates .steme with config, .gitignore, database and a 0600 key', () => {
    const files = readdirSync(join(sb.dir, '.steme')).sort()
    expect(files).toEqual(expect.arrayContaining(['.gitignore', 'config.toml', 'store.duckdb']))
    const keyFile = join(sb.dir, 'xdg', 'steme', 'keys', 'default.key')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    const seed = JSON.parse(readFileSync(keyFile, 'utf8')).seed as string
    const who = sb.run(['whoami'])
    expect(who.stdout).toMatch(/^[0-9a-f]{64}\n$/)
    // the private seed never appears in any output
    for (const args of [['whoami'], ['keys', 'list'], ['keys', 'list', '--json'], ['init']]) {
      const r = sb.run(args)
      expect(r.stdout + r.stderr).not.toContain(seed)
    }
  })

  it('init --store with a path is refused before anything is written', () => {
    const other = sandbox()
    try {
      const r = other.run(['init', '--store', join(other.dir, 'elsewhere', '.steme')])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('init --store takes a postgres:// URL')
      expect(r.stderr).toContain('steme init --dir')
      // No half-made store in the working directory, nor where the flag pointed, and no key.
      expect(readdirSync(other.dir).sort()).toEqual([])
    } finally {
      other.cleanup()
    }
  })

  it('assert prints an id; query answers with the latest; --json is parseable', () => {
    const a = sb.run(['assert', 'drug:aspirin', 'bleeding_rate', '0.002', '--confidence', '0.9', '--source', 'fda:label-2024'])
    expect(a.code).toBe(0)
    expect(a.stdout.trim()).toMatch(/^[0-9a-f]{64}$/)
    sb.run(['assert', 'drug:aspirin', 'bleeding_rate', '0.003'])
    sb.run(['assert', 'drug:aspirin', 'brand', 'Bayer'])
    const q = sb.json<{resolutions: Array<{predicate: string; winner: {value: unknown}; candidates: unknown[]}>}>(['query', 'drug:aspirin'])
    expect(q.resolutions.map((r) => [r.predicate, r.winner.value, r.candidates.length])).toEqual([
      ['bleeding_rate', 0.003, 2],
      ['brand', 'Bayer', 1],
    ])
    const table = sb.run(['query', 'drug:aspirin', 'bleeding_rate', '--all'])
    expect(table.stdout).toContain('0.003')
    expect(table.stdout).toContain('0.002')
  })

  it('show: a trust record endorses an agent, which is no missing record; votes cite without repeating their kind', () => {
    const other = sandboxFrom(fresh)
    try {
      const agent = 'ab'.repeat(32)
      const trust = other.run(['trust', agent, '0.8']).stdout.trim()
      const shown = other.run(['show', trust])
      expect(shown.code, shown.stderr).toBe(0)
      expect(shown.stdout).toContain(`endorses agent: ${agent} (weight 0.8)`)
      expect(shown.stdout).not.toContain('not in this store')
      expect(other.json<{cites: unknown[]}>(['show', trust]).cites).toEqual([])
      const a = other.run(['assert', 'x:1', 'p', '1']).stdout.trim()
      const vote = other.run(['vote', a, 'up']).stdout.trim()
      const target = other.run(['show', a])
      expect(target.stdout).toContain(`cited by vote: ${vote}\n`)
      expect(other.run(['show', vote]).stdout).toContain(`cites (vote): ${a}\n`)
    } finally {
      other.cleanup()
    }
  })

  it('--evidence and --supersedes take one id each, so the value may follow them', () => {
    const other = sandboxFrom(fresh)
    try {
      const a = other.run(['assert', 'x:1', 'p', '1']).stdout.trim()
      const b = other.run(['assert', 'x:1', 'q', '2']).stdout.trim()
      // Before, --evidence swallowed the value and the command asked for it.
      const r = other.run(['assert', 'x:2', 'p', '--evidence', a.slice(0, 12), '--evidence', b, '0.004', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const rec = (JSON.parse(r.stdout) as {record: {value: unknown; evidence: string[]}}).record
      expect(rec.value).toBe(0.004)
      expect(rec.evidence).toEqual([a, b])
      const s = other.run(['assert', 'x:1', 'p', '--supersedes', a, '3', '--json'])
      expect(s.code, s.stderr).toBe(0)
      expect((JSON.parse(s.stdout) as {record: {supersedes: string[]}}).record.supersedes).toEqual([a])
      // A value really missing is said without oclif's note about flags that take several values.
      const missing = other.run(['assert', 'x:1', 'p'])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain('error: Missing 1 required arg:\nvalue  the value (JSON, or a plain string)\nhint: see `steme assert --help`')
      expect(missing.stderr).not.toContain('multiple values')
    } finally {
      other.cleanup()
    }
  })

  it('show reports the signature and links; log and stats list what is there', () => {
    const id = sb.run(['assert', 'x:1', 'p', '{"a":1}']).stdout.trim()
    const derived = sb.run(['assert', 'x:2', 'p', 'derived', '--evidence', id]).stdout.trim()
    const shown = sb.json<{signature: string; citedBy: Array<{id: string}>}>(['show', id])
    expect(shown.signature).toBe('valid')
    expect(shown.citedBy.map((c) => c.id)).toEqual([derived])
    // The 12-character id that `steme log` prints names the record too.
    const short = sb.run(['log', 'x:1']).stdout.match(/\b([0-9a-f]{12})\b/)![1]
    expect(id.startsWith(short)).toBe(true)
    expect(sb.json<{record: {id: string}}>(['show', short]).record.id).toBe(id)
    // --supersedes takes the short id as well; replacing an assertion about something else is said.
    const r = sb.run(['assert', 'x:3', 'q', 'other', '--supersedes', short])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`note: supersedes ${short}, an assertion about x:1 p: it drops out of the answers about that, not about x:3 q`)
    expect(sb.json<{record: {supersedes: string[]}}>(['show', r.stdout.trim()]).record.supersedes).toEqual([id])
    const log = sb.json<{records: Array<{id: string}>}>(['log', 'x:1'])
    expect(log.records.map((r) => r.id)).toEqual([id])
    const stats = sb.json<{records: number; byKind: {assertion: number}}>(['stats'])
    expect(stats.records).toBe(stats.byKind.assertion)
    expect(stats.records).toBeGreaterThanOrEqual(5)
  })

  it('ingest keeps good lines, reports bad ones, exits 1; export re-ingests cleanly elsewhere', () => {
    const exported = sb.run(['export'])
    expect(exported.code).toBe(0)
    const lines = exported.stdout.trim().split('\n')
    const bad = JSON.parse(lines[0])
    bad.confidence = 0.1
    const input = [...lines, '{oops', JSON.stringify(bad), '{"subject":"new:1","predicate":"p","value":true}'].join('\n')
    const r = sb.run(['ingest', '-'], {input})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`stdin:${lines.length + 1}: rejected: not valid JSON`)
    expect(r.stderr).toMatch(new RegExp(`stdin:${lines.length + 2}: rejected ${bad.id.slice(0, 12)}: id: does not match`))
    expect(r.stdout).toContain(`1 added, ${lines.length} already present, 2 rejected`)

    const other = sandboxFrom(fresh)
    try {
      const res = other.json<{added: number; rejected: number}>(['ingest', '-'], {input: exported.stdout})
      expect(res).toMatchObject({added: lines.length, rejected: 0})
      expect(other.run(['export']).stdout).toBe(exported.stdout)
      expect(other.run(['fsck']).code).toBe(0)
    } finally {
      other.cleanup()
    }
  })

  it('the clock moves past received stamps and stays there across processes', () => {
    const other = sandboxFrom(fresh)
    try {
      // A record from a peer whose clock is 30 s ahead (inside the 60 s skew bound).
      const stamp = (Date.now() + 30_000).toString(16).padStart(16, '0') + '-0000'
      // Sign it with another agent's key so it is a valid foreign record.
      const seed = '22'.repeat(32)
      {
        const script = `const {seal, recordLine} = await import('./dist/core/seal.js'); const {keyPairFromSeed} = await import('./dist/core/sign.js');
const k = keyPairFromSeed(Buffer.from('${seed}', 'hex'));
const {record, canonical} = seal({v: 1, kind: 'assertion', agent: k.publicHex, hlc: '${stamp}', subject: 's', predicate: 'p', value: 2, confidence: 1}, k);
process.stdout.write(recordLine(canonical, record.id, record.sig) + '\\n')`
        const made = spawnSync(process.execPath, ['--input-type=module', '-e', script], {cwd: process.cwd(), encoding: 'utf8'})
        expect(made.status, made.stderr).toBe(0)
        expect(other.run(['ingest', '-'], {input: made.stdout}).code).toBe(0)
      }
      // A new process (a restart) issues its next stamp above the received one.
      const id = other.run(['assert', 's', 'p', '3']).stdout.trim()
      const rec = other.json<{record: {hlc: string}}>(['show', id]).record
      expect(rec.hlc > stamp).toBe(true)
      const next = other.json<{record: {hlc: string}}>(['show', other.run(['assert', 's', 'p', '4']).stdout.trim()]).record
      expect(next.hlc > rec.hlc).toBe(true)
    } finally {
      other.cleanup()
    }
  })

  it('fsck finds a record whose stored bytes were altered, and exits 1', () => {
    const other = sandboxFrom(fresh)
    try {
      other.run(['assert', 'a', 'b', '1'])
      expect(other.json<{bad: unknown[]}>(['fsck']).bad).toEqual([])
      // Corrupt the store behind steme's back with DuckDB itself.
      tamperStore(other, `UPDATE records SET canonical = replace(canonical, '"value":1', '"value":2')`)
      const fsck = other.run(['fsck'])
      expect(fsck.code).toBe(1)
      expect(fsck.stderr).toMatch(/bad record [0-9a-f]{64}: id: does not match the content/)
    } finally {
      other.cleanup()
    }
  })
})

describe('bad input: one clear message, the right exit code, nothing touched', () => {
  const count = () => sb.json<{records: number}>(['stats']).records

  it('usage errors exit 2 with a hint', () => {
    const before = count()
    const cases: Array<[string[], RegExp]> = [
      [['assert', 'a', 'b', '1', '--confidence', '7'], /--confidence must be a decimal number in \[0, 1\] such as 0.9, got "7"/],
      [['assert', 'a'], /Missing 2 required args/],
      [['query', 'a', '--as-of', 'someday'], /"someday" is neither a date nor an HLC stamp/],
      [['show', 'xyz'], /"xyz" is not a record id/],
      [['ingest', 'no-such-file.ndjson'], /no such file: no-such-file.ndjson/],
      [['assert', 'a', 'b', '1', '--valid-from', 'soon'], /invalid --valid-from: must be an ISO-8601 date/],
      [['log', '--frobnicate'], /Nonexistent flag: --frobnicate/],
      [['assert', 'a', 'b', '1', '--valid-from', '2026-02-30'], /invalid --valid-from: must be an ISO-8601 date/],
      // Record fields a flag fills are named by the flag typed, not by the field.
      [['assert', 'a', 'b', '1', '--valid-from', '2026-02-01', '--valid-to', '2025-01-01'], /invalid --valid-from\/--valid-to: from \(2026-02-01\) is after to \(2025-01-01\)/],
      [['assert', 'a', 'b', '1', '--source', 'x'.repeat(1100)], /invalid --source: is 1100 chars, the bound is 1024/],
      [['epoch', 'e1', '--starts', '2026-02-30'], /invalid --starts: must be an ISO-8601 date/],
      [['assert', 'x'.repeat(600), 'b', '1'], /invalid subject: is 600 chars, the bound is 512/],
      // A data file given as the store is named as not a store, not as something DuckDB made of it.
      [['query', 'a', '--store', 'data.csv'], /data\.csv is not a steme store: it is not a DuckDB database file/],
    ]
    writeFileSync(join(sb.dir, 'data.csv'), 'subject,predicate,value\na,b,1\n')
    for (const [args, msg] of cases) {
      const r = sb.run(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(msg)
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/) // no stack traces
    }
    // The hint names the command whose --help lists the accepted values.
    expect(sb.run(['assert', 'a', 'b', '1', '--valid-from', 'soon']).stderr).toContain('hint: see `steme assert --help` for the accepted values')
    expect(count()).toBe(before)
  })

  it('stats of a new store says its clock has stamped nothing yet, rather than an empty clock; the size on disk reads in MiB', () => {
    const other = sandboxFrom(fresh)
    try {
      expect(other.run(['stats']).stdout).toMatch(/\nclock: none yet \(nothing stamped\)\n$/)
      other.run(['assert', 'x:1', 'p', '1'])
      const shown = other.run(['stats']).stdout
      expect(shown).toMatch(/\nclock: [0-9a-f]{16}-[0-9a-f]{4}\n$/)
      // The size reads in binary units; --json keeps the exact byte count.
      const {bytes} = other.json<{bytes: number}>(['stats'])
      expect(Number.isInteger(bytes) && bytes > 1024 * 1024).toBe(true)
      expect(shown).toMatch(new RegExp(`\nsize on disk +${(bytes / 1024 / 1024).toFixed(1).replace('.', '\\.')} MiB\n`))
      expect(shown).not.toContain(String(bytes))
    } finally {
      other.cleanup()
    }
  })

  it('log with nothing to list says what there is none of, not a bare header', () => {
    const other = sandboxFrom(fresh)
    try {
      expect(other.run(['log']).stdout).toBe('no records\n')
      other.run(['assert', 'x:1', 'p', '1'])
      expect(other.run(['log', 'x:2']).stdout).toBe('no records about x:2\n')
      expect(other.run(['log', '--since', '2100-01-01']).stdout).toBe('no records since 2100-01-01\n')
      expect(other.run(['log', 'x:1']).stdout).toMatch(/^HLC +ID +KIND +AGENT +WHAT\n[0-9a-f]{16}-[0-9a-f]{4} /)
      expect(other.json<{records: unknown[]}>(['log', 'x:2']).records).toEqual([])
    } finally {
      other.cleanup()
    }
  })

  it('a query that finds nothing by --as-of says so, since the store knows more now', () => {
    const other = sandboxFrom(fresh)
    try {
      other.run(['assert', 'x:1', 'p', '1'])
      const then = other.run(['query', 'x:1', '--as-of', '2020-01-01'])
      expect(then.code).toBe(0)
      expect(then.stdout).toBe('no assertions about x:1 as of 2020-01-01\n')
      expect(other.run(['query', 'x:2']).stdout).toBe('no assertions about x:2\n')
    } finally {
      other.cleanup()
    }
  })

  it('arguments come from the command line only, never from piped stdin', () => {
    const other = sandboxFrom(fresh)
    try {
      other.run(['assert', 'a:1', 'p', '1'])
      other.run(['assert', 'a:2', 'q', '2'])
      // As in a `while read` loop: stdin holds the loop's lines, not arguments for steme.
      const log = other.json<{records: Array<{subject: string}>}>(['log'], {input: 'a:1\n'})
      expect(log.records.map((r) => r.subject).sort()).toEqual(['a:1', 'a:2'])
      const query = other.json<{resolutions: Array<{predicate: string}>}>(['query', 'a:1'], {input: 'nope\n'})
      expect(query.resolutions.map((r) => r.predicate)).toEqual(['p'])
      const missing = other.run(['query'], {input: 'a:1\n'})
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain('Missing 1 required arg')
    } finally {
      other.cleanup()
    }
  })

  it('ingest without a file on a terminal says what to give instead of waiting; piped records need no file', () => {
    const other = sandboxFrom(fresh)
    try {
      // script(1) gives the command a terminal as its stdin.
      const tty = spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" ingest`, '/dev/null'], {cwd: other.dir, env: other.env, encoding: 'utf8', timeout: 30_000})
      expect(tty.status, tty.stdout).toBe(2)
      expect(tty.stdout).toContain('error: no input: name the file to ingest')
      expect(tty.stdout).toContain('cat facts.ndjson | steme ingest -')
      const piped = other.run(['ingest'], {input: '{"subject":"p","predicate":"q","value":1}\n'})
      expect(piped.code, piped.stderr).toBe(0)
      expect(piped.stdout).toContain('1 added')
    } finally {
      other.cleanup()
    }
  })

  it('a CSV row that does not parse is one rejected line: the other rows are stored, exit 1, no false hint', () => {
    const other = sandboxFrom(fresh)
    try {
      const rows = Array.from({length: 3000}, (_, i) => `s:${i},p,${i}`)
      writeFileSync(join(other.dir, 'facts.csv'), 'subject,predicate,value\n' + [...rows.slice(0, 1500), 's:x,p', ...rows.slice(1500), 's:y,p,"cut off'].join('\n'))
      const r = other.run(['ingest', 'facts.csv'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('facts.csv:1502: rejected: CSV row has 2 fields where the header has 3')
      expect(r.stderr).toContain('facts.csv:3003: rejected: CSV: a quote opened on this line is not closed')
      expect(r.stderr).not.toMatch(/records before this line were kept|\(records already stored are skipped\)/)
      expect(r.stdout).toContain('3000 added, 0 already present, 2 rejected (3002 csv records read)')
      expect(other.json<{records: number}>(['stats']).records).toBe(3000)
    } finally {
      other.cleanup()
    }
  })

  it('an NDJSON file whose first line is damaged is read as NDJSON (by its extension): the other lines are kept', () => {
    const other = sandboxFrom(fresh)
    try {
      const facts = Array.from({length: 50}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: i}))
      writeFileSync(join(other.dir, 'facts.ndjson'), ['# made by hand', ...facts].join('\n') + '\n')
      const r = other.run(['ingest', 'facts.ndjson'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('facts.ndjson:1: rejected: not valid JSON')
      expect(r.stdout).toContain('50 added, 0 already present, 1 rejected (51 ndjson records read)')
      const piped = other.run(['ingest', '-'], {input: ['oops', ...facts.map((f) => f.replace('"p"', '"q"'))].join('\n')})
      expect(piped.stdout).toContain('50 added, 0 already present, 1 rejected (51 ndjson records read)')
    } finally {
      other.cleanup()
    }
  })

  it('a CSV header may name any record field, as --help says: kind,target,weight makes votes', () => {
    const other = sandboxFrom(fresh)
    try {
      const id = other.run(['assert', 's:v', 'p', '1']).stdout.trim()
      writeFileSync(join(other.dir, 'votes.csv'), `kind,target,weight\nvote,${id},-1\n`)
      expect(other.run(['ingest', 'votes.csv']).stdout).toContain('1 added, 0 already present, 0 rejected (1 csv record read)')
      expect(other.json<{byKind: {vote: number}}>(['stats']).byKind.vote).toBe(1)
      writeFileSync(join(other.dir, 'bad.csv'), 'subject,predicate,value,colour\na,b,1,red\n')
      expect(other.run(['ingest', 'bad.csv']).stderr).toContain('column 4 "colour" is not a record field')
      const help = other.run(['ingest', '--help']).stdout.replace(/\s+/g, ' ')
      expect(help).toContain('kind,target,weight for votes')
      expect(help).toContain('a header naming anything that is not a record field is refused before a row is read')
    } finally {
      other.cleanup()
    }
  })

  it('after rejected lines, the hint on retrying is true for plain facts: ingesting them again stores them again', () => {
    const other = sandboxFrom(fresh)
    try {
      const text = '{"subject":"s:1","predicate":"p","value":1}\n{oops\n'
      const first = other.run(['ingest', '-'], {input: text})
      expect(first.code).toBe(1)
      expect(first.stderr).toContain('hint: every other line was stored. To retry, ingest only the rejected lines, fixed: plain facts are signed anew each time')
      // What the hint warns about: the same plain fact, ingested again, is stored again.
      expect(other.run(['ingest', '-'], {input: text}).stdout).toContain('1 added, 0 already present, 1 rejected')
      expect(other.json<{records: number}>(['stats']).records).toBe(2)
      const help = other.run(['ingest', '--help']).stdout.replace(/\s+/g, ' ')
      expect(help).not.toMatch(/(^|\. )Records already stored are skipped/)
      expect(help).toContain('Signed records already stored are skipped, but plain facts are signed anew each time')
    } finally {
      other.cleanup()
    }
  })

  it('a rejected signed record is not to be fixed by editing: the hint sends its reader to the signer', () => {
    const other = sandboxFrom(fresh)
    try {
      other.run(['assert', 's:signed', 'p', '1'])
      const good = other.run(['export']).stdout.trim()
      const tampered = good.replace('"value":1', '"value":2')
      expect(tampered).not.toBe(good)
      // Only signed lines rejected: nothing about fixing them.
      const alone = other.run(['ingest', '-'], {input: `${tampered}\n`})
      expect(alone.code).toBe(1)
      expect(alone.stderr).toContain('hint: no line was stored: a signed record cannot be fixed by editing it (its signature covers every field): get a good copy from its signer')
      expect(alone.stderr).not.toContain('fix the input')
      const beside = other.run(['ingest', '-'], {input: `{"subject":"s:2","predicate":"p","value":1}\n${tampered}\n`})
      expect(beside.code).toBe(1)
      expect(beside.stderr).toContain('hint: every other line was stored. The rejected lines are signed records: a signed record cannot be fixed by editing it')
      expect(beside.stderr).not.toContain('ingest only the rejected lines, fixed')
      // A plain line and a signed one rejected: both pieces of advice.
      const both = other.run(['ingest', '-'], {input: `{"subject":"s:3","predicate":"p","value":1}\n{oops\n${tampered}\n`})
      expect(both.stderr).toContain('To retry, ingest only the rejected lines, fixed:')
      expect(both.stderr).toContain('Of the rejected lines, a signed record cannot be fixed by editing it')
    } finally {
      other.cleanup()
    }
  })

  it('when every line is rejected the hint says nothing was stored, not that other lines were', () => {
    const other = sandboxFrom(fresh)
    try {
      const r = other.run(['ingest', '-'], {input: 'hello world\n'})
      expect(r.code).toBe(1)
      expect(r.stderr).toBe('stdin:1: rejected: not valid JSON: Unexpected token \'h\', "hello world" is not valid JSON\nhint: no line was stored: fix the input and ingest it again\n')
    } finally {
      other.cleanup()
    }
  })

  it('a missing store says how to create one', () => {
    const other = sandbox()
    try {
      const r = other.run(['query', 'a'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('error: no steme store here or in any parent directory')
      expect(r.stderr).toContain('hint: run `steme init`')
      const j = other.run(['stats', '--json'])
      expect(JSON.parse(j.stdout).error.code).toBe('no_store')
    } finally {
      other.cleanup()
    }
  })

  it('a --store naming no store gives the init that makes one there, not one for the working directory', () => {
    const other = sandbox()
    try {
      mkdirSync(join(other.dir, 'empty'))
      const cases: Array<[string, string]> = [
        ['nope', `create one there with \`steme init --dir ${join(other.dir, 'nope')}\``],
        ['empty', `create one there with \`steme init --dir ${join(other.dir, 'empty')}\``],
        [join('empty', '.steme'), `create one there with \`steme init --dir ${join(other.dir, 'empty')}\``],
        ['my store', `create one there with \`steme init --dir '${join(other.dir, 'my store')}'\``],
        ['x.duckdb', 'check --store / STEME_STORE: it names a directory holding .steme/'],
      ]
      for (const [given, hint] of cases) {
        const r = other.run(['stats', '--store', given])
        expect(r.code).toBe(2)
        expect(r.stderr).toContain(`error: no store at ${join(other.dir, given)}`)
        expect(r.stderr).toContain(`hint: ${hint}`)
      }
      // The init it names makes the store that --store then finds.
      expect(other.run(['init', '--dir', join(other.dir, 'nope')]).code).toBe(0)
      expect(other.run(['stats', '--store', 'nope']).code).toBe(0)
    } finally {
      other.cleanup()
    }
  })

  it('a config setting of the wrong type is an error naming the file and setting, never replaced by its default', () => {
    const other = sandboxFrom(fresh)
    try {
      const file = join(other.dir, '.steme', 'config.toml')
      const original = readFileSync(file, 'utf8')
      const cases: Array<[string, string, RegExp]> = [
        ['skew_seconds = 60', 'skew_seconds = "abc"', /store\.skew_seconds must be a number of seconds >= 0, got "abc"/],
        ['pretrusted = []', 'pretrusted = ["zz"]', /trust\.pretrusted must be a list of agent keys .*got "zz"/],
        ['lens = "recency"', 'lens = 7', /query\.lens must be a lens expression in quotes, got 7/],
      ]
      for (const [from, to, message] of cases) {
        writeFileSync(file, original.replace(from, to))
        // Every command says so, init too (not "Already a store").
        for (const args of [['query', 's'], ['init']]) {
          const r = other.run(args)
          expect(r.code, r.stderr).toBe(2)
          expect(r.stderr).toContain('config.toml')
          expect(r.stderr).toMatch(message)
          expect(r.stdout).not.toContain('Already a store')
        }
      }
      // A lens that does not exist, from the config rather than --lens, is blamed on the config.
      writeFileSync(file, original.replace('lens = "recency"', 'lens = "bogus"'))
      const r = other.run(['query', 's'])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/default lens in the store's config\.toml \(\[query\] lens\) is wrong: .*bogus/)
      expect(other.run(['query', 's', '--lens', 'recency']).code).toBe(0)
    } finally {
      other.cleanup()
    }
  })

  it('a missing key says how to make one; a world-readable key is refused', () => {
    const other = sandboxFrom(fresh)
    try {
      const keyFile = join(other.dir, 'xdg', 'steme', 'keys', 'default.key')
      chmodSync(keyFile, 0o644)
      const r = other.run(['assert', 'a', 'b', '1'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('is readable by other users (mode 644)')
      expect(r.stderr).toContain(`chmod 600 ${keyFile}`)
      // keys list still lists the good keys, names the unusable one and why, and exits 1.
      expect(other.run(['keys', 'generate', '--name', 'spare']).code).toBe(0)
      const listed = other.run(['keys', 'list', '--json'])
      expect(listed.code).toBe(1)
      const keys = (JSON.parse(listed.stdout) as {keys: Array<{name: string; agent: string; problem?: string}>}).keys
      expect(keys.map((k) => [k.name, k.agent.length, k.problem === undefined])).toEqual([
        ['default', 0, false],
        ['spare', 64, true],
      ])
      expect(listed.stderr).toContain('key "default": key file')
      expect(listed.stderr).toContain('is readable by other users (mode 644)')
      const none = other.run(['assert', 'a', 'b', '1'], {env: {XDG_CONFIG_HOME: join(other.dir, 'empty')}})
      expect(none.code).toBe(2)
      expect(none.stderr).toContain('error: no signing key')
      expect(none.stderr).toContain('steme keys generate')
      const envKey = other.run(['assert', 'a', 'b', '1'], {env: {XDG_CONFIG_HOME: join(other.dir, 'empty'), STEME_KEY: '11'.repeat(32)}})
      expect(envKey.code).toBe(0)
    } finally {
      other.cleanup()
    }
  })

  it('commands run in parallel on one store wait for each other, and all succeed', async () => {
    const before = sb.json<{records: number}>(['stats']).records
    // Six at once take their turns one after another: on a machine busy with other tests the
    // last may wait longer than the default 10 s, which is not what this checks.
    const config = join(sb.dir, '.steme', 'config.toml')
    const saved = readFileSync(config, 'utf8')
    writeFileSync(config, saved.replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = 120'))
    try {
      const runs = await Promise.all(Array.from({length: 6}, (_, i) => sb.runAsync(['assert', `parallel:${i}`, 'n', String(i)])))
      for (const r of runs) {
        expect(r.code, r.stderr).toBe(0)
        expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/)
      }
    } finally {
      writeFileSync(config, saved)
    }
    expect(sb.json<{records: number}>(['stats']).records).toBe(before + 6)
    // Each resumed the clock above the one before it: six different stamps.
    const stamps = sb.json<{records: {subject: string; hlc: string}[]}>(['log', '-n', '100']).records.filter((r) => r.subject.startsWith('parallel:')).map((r) => r.hlc)
    expect(new Set(stamps).size).toBe(6)
  })

  it('a store locked by another process gets a clear message, not a raw lock error, once the busy timeout is up', async () => {
    const config = join(sb.dir, '.steme', 'config.toml')
    const saved = readFileSync(config, 'utf8')
    writeFileSync(config, saved.replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = 1.5'))
    const holder = await holdStore(join(sb.dir, '.steme', 'store.duckdb'))
    try {
      const r = sb.run(['assert', 'a', 'b', '1'])
      expect(r.code).toBe(1)
      // The holder is no steme: it is named by its pid and program.
      expect(r.stderr).toMatch(new RegExp(`^error: the store .* is in use by another process \\(pid ${holder.pid}: \\S*node; waited \\d+(\\.\\d)? s\\)\\nhint: .*\`\\[store\\] busy_timeout_seconds\` in the store's config.toml sets how long commands wait`))
      expect(r.stderr).not.toContain('IO Error')
      // Its hint is about that program, not a steme command.
      expect(r.stderr).toMatch(/\nhint: DuckDB admits one process per store file: close the store in that program/)
      // Not on a terminal: no note while waiting.
      expect(r.stderr).not.toContain('waiting for the store')
      // On a terminal (script(1) gives it one), a wait over a second says what it waits for.
      const tty = spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" assert a b 1`, '/dev/null'], {cwd: sb.dir, env: sb.env, encoding: 'utf8', timeout: 30_000})
      expect(tty.status).toBe(1)
      expect(tty.stdout).toMatch(/^waiting for the store: another process holds it \(for up to 1\.5 s\)\r?\nerror: the store .* is in use by another process \(pid \d+: \S*node; waited 1\.\d s\)/)
    } finally {
      await holder.release()
      writeFileSync(config, saved)
    }
    expect(sb.run(['fsck']).code).toBe(0)
  })
})
