import {beforeAll, describe, expect, it} from 'vitest'
import {Readable} from 'node:stream'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import type {SignedRecord} from '../../src/core/record.js'
import type {Store} from '../../src/core/store.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import {recordLine} from '../../src/core/seal.js'
import type {Deps} from '../../src/ops/deps.js'
import {elementSpans, formatOfName, ingestOp, sniffFormat} from '../../src/ops/ingest.js'
import {startRunner} from '../../src/ops/verify-pool.js'
import {exportOp} from '../../src/ops/export.js'
import {RemoteClient} from '../../src/serve/client.js'
import {UserError} from '../../src/core/errors.js'
import {assertion, many, testKey} from '../helpers/records.js'

function deps(store = new MemoryStore(), withKey = true): Deps {
  return {
    store,
    clock: new Hlc(undefined),
    config: {...DEFAULT_CONFIG, skewSeconds: 60},
    key: () => {
      if (!withKey) throw new Error('no key')
      return testKey(9)
    },
    saveClock: async () => undefined,
  }
}
const line = (s: ReturnType<typeof assertion>) => recordLine(s.canonical, s.record.id, s.record.sig)
const input = (text: string) => Readable.from([text])

beforeAll(() => initHash())

async function collect(store: Store): Promise<SignedRecord[]> {
  const out: SignedRecord[] = []
  for await (const batch of store.scan()) out.push(...batch.map((s) => s.record))
  return out
}

describe('ingest', () => {
  it('keeps good lines, reports bad ones by line number, and stores nothing twice', async () => {
    const good = many(5)
    const tampered = JSON.parse(line(good[1]))
    tampered.value = 999
    const text = [line(good[0]), '{not json', JSON.stringify(tampered), '', line(good[2]), '{"kind":"opinion","sig":"00"}', line(good[3]), line(good[4]), line(good[0])].join('\n')
    const d = deps()
    const res = await ingestOp(d, {input: input(text), chunkLines: 3})
    expect(res.added).toBe(4)
    expect(res.present).toBe(1)
    expect(res.rejected).toBe(3)
    expect(res.errors.map((e) => e.line)).toEqual([2, 3, 6])
    expect(res.errors[0].reason).toMatch(/not valid JSON/)
    expect(res.errors[1].reason).toMatch(/^id: does not match the content/)
    expect(res.errors[1].id).toBe(good[1].record.id)
    expect(res.errors[2].reason).toMatch(/^v: must be 1/)
    const again = await ingestOp(d, {input: input(text)})
    expect(again.added).toBe(0)
    expect((await d.store.stats()).records).toBe(4)
  })

  it('reads a byte order mark, CR LF endings, blank lines and a last line without a newline; rejects a line that is not UTF-8', async () => {
    const good = many(4)
    const broken = Buffer.from(line(good[3]).replace('"subject":"', '"subject":"\u00e9'))
    broken[broken.indexOf(0xc3)] = 0xff // an invalid UTF-8 byte inside a string
    const bytes = Buffer.concat([
      Buffer.from('\ufeff' + line(good[0]) + '\r\n\r\n' + line(good[1]) + '\n\n'),
      broken,
      Buffer.from('\n\r\n' + line(good[2])),
    ])
    const d = deps()
    const res = await ingestOp(d, {input: Readable.from([bytes]), format: 'ndjson'})
    expect(res.added).toBe(3)
    expect(res.rejected).toBe(1)
    expect(res.errors.map((e) => e.line)).toEqual([5])
    // Rejected for its bytes, before it is decoded: decoding would put U+FFFD in their place.
    expect(res.errors[0].reason).toMatch(/^not valid UTF-8/)
    expect(new Set((await collect(d.store)).map((r) => r.id))).toEqual(new Set(good.slice(0, 3).map((g) => g.record.id)))
  })

  it('into DuckDB: bulk appends keep line numbers, and a repeat inside one append is stored once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steme-ingest-'))
    const store = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})
    try {
      const good = many(40)
      const lines = good.map(line)
      lines.splice(10, 0, '{"v":1}')
      lines.push(line(good[3]))
      const d = deps(store)
      const res = await ingestOp(d, {input: input(lines.join('\r\n') + '\r\n'), chunkLines: 7})
      expect(res).toMatchObject({lines: 42, added: 40, present: 1, rejected: 1})
      expect(res.errors.map((e) => e.line)).toEqual([11])
      expect((await store.stats()).records).toBe(40)
      expect((await store.get([good[39].record.id]))[0].canonical).toBe(good[39].canonical)
      // Sync sums were kept in the same transactions.
      const sums = await store.bucketSums(0, 2 ** 44 - 1)
      expect(sums.reduce((n, b) => n + b.count, 0)).toBe(40)
      const again = await ingestOp(d, {input: input(lines.join('\n'))})
      expect(again).toMatchObject({added: 0, present: 41, rejected: 1})
      // Plain facts after signed ones: one clock range per chunk, every stamp distinct and above the received ones.
      const facts = await ingestOp(d, {input: input(Array.from({length: 20}, (_, i) => JSON.stringify({subject: `f:${i}`, predicate: 'p', value: i})).join('\n')), chunkLines: 6})
      expect(facts.added).toBe(20)
      const stamps = (await collect(store)).filter((r) => r.agent === testKey(9).publicHex).map((r) => r.hlc)
      expect(new Set(stamps).size).toBe(20)
      expect(stamps.every((h) => h > good.map((g) => g.record.hlc).sort().at(-1)!)).toBe(true)
    } finally {
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('signs plain facts with the local key and moves the clock past received stamps', async () => {
    const d = deps()
    const future = assertion({hlc: '000001f000000000-0000'})
    const res = await ingestOp(d, {
      input: input(['{"subject":"s:1","predicate":"p","value":1}', '{"subject":"s:1","predicate":"p","value":"two","confidence":0.4,"source":"doc:1"}'].join('\n')),
    })
    expect(res.added).toBe(2)
    const got = await d.store.assertions('s:1', 'p')
    expect(got.map((a) => a.agent)).toEqual([testKey(9).publicHex, testKey(9).publicHex])
    expect(got.map((a) => a.confidence)).toEqual([1, 0.4])
    const far = await ingestOp(d, {input: input(line(future))})
    expect(far.rejected).toBe(1)
    expect(far.errors[0].reason).toMatch(/in the future/)
    const near = assertion({hlc: new Hlc(undefined).tick()})
    await ingestOp(d, {input: input(line(near))})
    expect(d.clock.tick() > near.record.hlc).toBe(true)
  })

  it('bounds a plain fact\'s value in UTF-8 bytes: 80,000 "字" are 240 KB, not 80 KB', async () => {
    const d = deps()
    const res = await ingestOp(d, {input: input([JSON.stringify({subject: 's', predicate: 'p', value: '字'.repeat(80000)}), JSON.stringify({subject: 's', predicate: 'p', value: '字'.repeat(20000)})].join('\n'))})
    expect(res.added).toBe(1)
    expect(res.errors.map((e) => [e.line, e.reason])).toEqual([[1, 'value: is 240002 bytes as canonical JSON (UTF-8), the bound is 65536']])
  })

  it('refuses a plain fact carrying agent or hlc, and plain facts without a key', async () => {
    const d = deps(new MemoryStore(), false)
    const res = await ingestOp(d, {input: input(['{"subject":"s","predicate":"p","value":1}', '{"subject":"s","predicate":"p","value":1,"hlc":"x"}'].join('\n'))})
    expect(res.rejected).toBe(2)
    expect(res.errors[0].reason).toMatch(/no local key to sign plain facts/)
    expect(res.errors[1].reason).toMatch(/^hlc: is set but the record has no sig/)
  })

  it('names the line a rejected element of a pretty-printed JSON array starts on', async () => {
    const good = JSON.parse(line(assertion({subject: 's:pretty', value: 'a'})))
    const text = JSON.stringify([good, {subject: 'x', predicate: 'y', value: [1, {'a,]': '[{'}]}, 5, 'text', {subject: 'x'}], null, 2)
    const res = await ingestOp(deps(), {input: input(text), name: 'facts.json'})
    expect(res).toMatchObject({format: 'json', added: 2, rejected: 3})
    const lines = text.split('\n')
    const at = (needle: string) => lines.findIndex((l) => l === needle) + 1
    expect(res.errors.map((e) => e.line)).toEqual([at('  5,'), at('  "text",'), lines.length - 3])
    expect(lines[res.errors[2].line - 1]).toBe('  {')
  })

  it('reads JSON objects one after another, each over many lines (as `jq .` writes them), as records', async () => {
    const signed = [assertion({subject: 's:seq', value: 'a'}), assertion({subject: 's:seq', value: 'b'})].map((a) => JSON.parse(line(a)))
    const pretty = signed.map((r) => JSON.stringify(r, null, 2)).join('\n') + '\n'
    const d = deps()
    expect(await ingestOp(d, {input: input(pretty), name: 'stdin'})).toMatchObject({format: 'json', lines: 2, added: 2, rejected: 0})
    expect((await collect(d.store)).map((r) => r.id).sort()).toEqual(signed.map((r) => r.id).sort())
    // A first record over many lines, then NDJSON lines: every record is read, a bad one named by its line.
    const mixed = '{\n  "subject": "s:mix",\n  "predicate": "p",\n  "value": 1\n}\n{"subject":"s:mix","predicate":"p","value":2}\n{"subject":"s:mix","predicate":"p"}\n'
    const m = deps()
    expect(await ingestOp(m, {input: input(mixed), name: 'stdin'})).toMatchObject({format: 'json', lines: 3, added: 2, rejected: 1, errors: [{line: 7, reason: expect.stringMatching(/^value: is required/)}]})
    expect((await m.store.assertions('s:mix', 'p')).map((a) => a.value).sort()).toEqual([1, 2])
    // A damaged one is refused whole, as a damaged document is: nothing is stored.
    await expect(ingestOp(deps(), {input: input(mixed + '{"subject":\n'), name: 'stdin'})).rejects.toThrow(/stdin is not a valid JSON document/)
  })

  it('names what it read when a document over many lines is not UTF-8: not an array', async () => {
    const text = Buffer.concat([Buffer.from('{\n  "subject": "s:u",\n  "predicate": "p",\n  "value": "'), Buffer.from([0xff]), Buffer.from('"\n}\n')])
    await expect(ingestOp(deps(), {input: Readable.from([text]), name: 'stdin'})).rejects.toThrow('stdin:4: not valid UTF-8, so nothing from this JSON input was stored')
  })

  it('waits for the end of a first line that is a { alone, when a pipe gives the { by itself', async () => {
    const d = deps()
    const res = await ingestOp(d, {input: Readable.from(['{', '\n  "subject": "s:slow",\n  "predicate": "p",\n  "value": 1\n}\n']), name: 'stdin'})
    expect(res).toMatchObject({format: 'json', added: 1, rejected: 0})
  })

  it('reads one JSON document over many lines: what `steme log --json` writes, or one record; the lines stay right', async () => {
    const signed = [assertion({subject: 's:log', value: 'a'}), assertion({subject: 's:log', value: 'b'})].map((a) => JSON.parse(line(a)))
    // The shape of `steme log --json`: one object, its records array pretty-printed.
    const text = JSON.stringify({records: [signed[0], {subject: 's:log', predicate: 'p'}, signed[1]]}, null, 2) + '\n'
    for (const name of ['log.json', 'stdin', 'log.txt']) {
      const d = deps()
      const res = await ingestOp(d, {input: input(text), name})
      expect(res).toMatchObject({format: 'json', lines: 3, added: 2, rejected: 1})
      const lines = text.split('\n')
      expect(res.errors).toEqual([{line: lines.indexOf('    {', lines.indexOf('    {') + 1) + 1, reason: expect.stringMatching(/^value: is required/)}])
      expect((await collect(d.store)).map((r) => r.id).sort()).toEqual(signed.map((r) => r.id).sort())
    }
    // One record printed over several lines is that record.
    const one = await ingestOp(deps(), {input: input('\n{\n  "subject": "s:one",\n  "predicate": "p",\n  "value": 1,\n  "value": 2\n}\n'), name: 'stdin'})
    expect(one).toMatchObject({format: 'json', lines: 1, rejected: 1, errors: [{line: 2, reason: expect.stringMatching(/the key "value" appears twice/)}]})
    const d = deps()
    expect(await ingestOp(d, {input: input('{\n  "subject": "s:one",\n  "predicate": "p",\n  "value": [1,\n 2]\n}'), name: 'one.json'})).toMatchObject({format: 'json', added: 1})
    expect((await d.store.assertions('s:one', 'p')).map((a) => a.value)).toEqual([[1, 2]])
    // A .ndjson file keeps its extension's word: a { alone is then one damaged line.
    expect(await ingestOp(deps(), {input: input(text), name: 'log.ndjson'})).toMatchObject({format: 'ndjson', added: 0})
    // A document that holds no object is refused as a whole, saying what it holds.
    await expect(ingestOp(deps(), {input: input('42'), name: 'n.json', format: 'json'})).rejects.toThrow('n.json holds 42, not records')
  })

  it('refuses a plain fact that JSON.parse would change before it is signed (a key twice, a number out of reach), in NDJSON, a JSON array and a CSV cell alike', async () => {
    // steme assert refuses these too: signing what the parser kept would store another fact than the one written.
    const facts = [
      '{"subject":"n:dup","predicate":"p","value":1,"value":2}',
      '{"subject":"n:inner","predicate":"p","value":{"a":1,"a":2}}',
      '{"subject":"n:big","predicate":"p","value":12345678901234567890}',
      '{"subject":"n:deep","predicate":"p","value":[1,{"n":12345678901234567890}]}',
      '{"subject":"n:huge","predicate":"p","value":1e400}',
      '{"subject":"n:tiny","predicate":"p","value":{"dose":2.5e-400}}',
      '{"subject":"n:ok","predicate":"p","value":{"a":1.10,"b":12345678901234567000}}',
    ]
    const why = [
      /^record: the key "value" appears twice in one object; JSON keeps only the last, silently: write each key once$/,
      /^record: the key "a" appears twice in one object; /,
      /^record: the number 12345678901234567890 would be rounded to 12345678901234567000 when signed: write it as a string \("12345678901234567890"\) to keep it as typed$/,
      /^record: the number 12345678901234567890 would be rounded to 12345678901234567000 when signed/,
      /^record: the number 1e400 is out of range for JSON: write it as a string \("1e400"\)/,
      /^record: the number 2.5e-400 would be rounded to 0 when signed: write it as a string \("2.5e-400"\)/,
    ]
    const nd = deps()
    const r1 = await ingestOp(nd, {input: input(facts.join('\n') + '\n'), name: 'facts.ndjson'})
    expect(r1).toMatchObject({added: 1, rejected: 6})
    r1.errors.forEach((e, i) => expect({line: e.line, reason: e.reason}).toEqual({line: i + 1, reason: expect.stringMatching(why[i])}))
    expect((await collect(nd.store)).map((r) => (r as {value?: unknown}).value)).toEqual([{a: 1.1, b: 12345678901234567000}])

    const arr = deps()
    const r2 = await ingestOp(arr, {input: input('[\n' + facts.join(',\n') + '\n]'), name: 'facts.json'})
    expect(r2).toMatchObject({format: 'json', added: 1, rejected: 6})
    r2.errors.forEach((e, i) => expect({line: e.line, reason: e.reason}).toEqual({line: i + 2, reason: expect.stringMatching(why[i])}))

    const csv = deps()
    const r3 = await ingestOp(csv, {input: input('subject,predicate,value\nc:dup,p,"{""a"":1,""a"":2}"\nc:deep,p,"[12345678901234567890]"\nc:top,p,12345678901234567890\nc:tiny,p,1e-400\n'), name: 'facts.csv'})
    expect(r3).toMatchObject({format: 'csv', added: 2, rejected: 2})
    expect(r3.errors).toEqual([
      {line: 2, reason: expect.stringMatching(/^value: the key "a" appears twice in one object; /)},
      {line: 3, reason: expect.stringMatching(/^value: the number 12345678901234567890 would be rounded/)},
    ])
    // A number alone in its cell is kept as the text, as steme assert keeps it.
    expect((await csv.store.assertions('c:top', 'p')).map((a) => a.value)).toEqual(['12345678901234567890'])
    // One too small for a double is not stored as 0, which would be another value.
    expect((await csv.store.assertions('c:tiny', 'p')).map((a) => a.value)).toEqual(['1e-400'])
  })

  it('a JSON array\'s signed records and plain facts go in as written: a signed record is still verified from its parsed form', async () => {
    const good = assertion({subject: 's:arr', value: 'a'})
    const text = `[${line(good)} , {"subject":"s:arr","predicate":"q","value":[1, 2]}\n]`
    const d = deps()
    const res = await ingestOp(d, {input: input(text), name: 'x.json'})
    expect(res).toMatchObject({added: 2, rejected: 0})
    expect((await d.store.assertions('s:arr', 'q')).map((a) => a.value)).toEqual([[1, 2]])
  })

  it('elementSpans finds the line each element starts on, whatever strings and nesting hold', () => {
    const elementLines = (text: string) => elementSpans(text).map((s) => s.line)
    expect(elementLines('[]')).toEqual([])
    expect(elementLines('[1,2,\n3]')).toEqual([1, 1, 2])
    expect(elementLines('\n[\n  "a\\"\\n,[",\n  {"k": [1,\n 2]},\n  true , null\n]')).toEqual([3, 4, 6, 6])
    expect(elementLines('[[\n[]],\r\n-1e5\n]')).toEqual([1, 3])
    const arr = Array.from({length: 50}, (_, i) => ({i, s: 'x,\n]'.repeat(i % 3)}))
    const pretty = JSON.stringify(arr, null, 1)
    expect(elementLines(pretty)).toEqual(arr.map((_, i) => 2 + i * 4))
    const text = '[ 1 ,"a,]" ,\n{"k":[1, {}]}\t, [[]] ,-0.5e1]'
    expect(elementSpans(text).map((s) => text.slice(s.start, s.end))).toEqual(['1', '"a,]"', '{"k":[1, {}]}', '[[]]', '-0.5e1'])
    expect(elementSpans(pretty).map((s) => JSON.parse(pretty.slice(s.start, s.end)) as unknown)).toEqual(arr)
  })

  it.each([
    ['subject,predicate,value,colour', /column 4 "colour" is not a record field; columns may be kind, subject/],
    ['subjct,predicate,value', /column 1 "subjct" is not a record field \(did you mean subject\?\); columns may be kind, subject/],
    ['subject,predicate,value,Confidance', /column 4 "Confidance" is not a record field \(did you mean confidence\?\); /],
    ['subject,predicate,value,value', /column 4 "value" names the same field as column 3, so one of the two would be lost/],
    ['Subject,Predicate,Value,value', /column 4 "value" names the same field as column 3, so one of the two would be lost/],
    ['subject,,value', /column 2 has no name/],
  ])('refuses a CSV header %j up front, storing nothing', async (header, why) => {
    const d = deps()
    const err = await ingestOp(d, {input: input(`${header}\ndrug:a,rate,0.2,x\n`), name: 'facts.csv'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).message).toMatch(/^facts\.csv:1: the CSV header row: /)
    expect((err as UserError).message).toMatch(why)
    expect(await collect(d.store)).toEqual([])
  })

  it('a CSV saved with semicolons or tabs between fields (a spreadsheet in many locales) is named as such, not as one unknown column or lines of bad JSON', async () => {
    for (const [text, name, sep] of [
      ['subject;predicate;value\r\ndrug:a;rate;0,2\r\n', 'sheet.csv', 'semicolons (;)'],
      ['"Subject";"Predicate";"Value"\ndrug:a;rate;1\n', 'stdin', 'semicolons (;)'],
      ['subject\tpredicate\tvalue\tconfidence\ndrug:a\trate\t1\t0.5\n', 'sheet.tsv', 'tabs'],
      ['subject\tpredicate\tvalue\ndrug:a\trate\t1\n', 'stdin', 'tabs'],
    ]) {
      const d = deps()
      const err = await ingestOp(d, {input: input(text), name}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UserError)
      expect((err as UserError).message).toBe(`${name}:1: the CSV header row: its columns are separated by ${sep}, not commas: steme reads comma-separated CSV (a spreadsheet saves it as "CSV UTF-8 (comma delimited)")`)
      expect((err as UserError).hint).toBe('nothing was stored; save the file with commas between its fields and ingest it again')
      expect(await collect(d.store)).toEqual([])
    }
    // A first line with tabs that name no record field is still NDJSON.
    expect(sniffFormat('some\ttext\n')).toBe('ndjson')
  })

  it('reads a JSON array and CSV with a header row', async () => {
    const d = deps()
    const arr = await ingestOp(d, {input: input(JSON.stringify([JSON.parse(line(assertion({value: 'a'}))), {subject: 'x', predicate: 'y', value: [1]}, 5]))})
    expect(arr.format).toBe('json')
    expect(arr.added).toBe(2)
    // All on line 1: the element's number says which.
    expect(arr.errors).toEqual([{line: 1, reason: 'element 3: record: must be a JSON object, got number'}])
    const csv = await ingestOp(d, {input: input('subject,predicate,value,confidence,source\ndrug:a,rate,0.2,0.9,fda\ndrug:a,rate,"{""n"":1}",0.5,\ndrug:b,name,plain text,2,x\n')})
    expect(csv.format).toBe('csv')
    expect(csv.added).toBe(2)
    expect(csv.errors).toEqual([{line: 4, reason: 'confidence: must be a number in [0, 1], got 2'}])
    const vals = (await d.store.assertions('drug:a', 'rate')).map((a) => a.value)
    expect(vals).toEqual([0.2, {n: 1}])
  })

  it('CSV header names are matched whatever their case and surrounding blanks, as spreadsheets title them', async () => {
    const d = deps()
    const csv = await ingestOp(d, {input: input('Subject, Predicate ,VALUE,Confidence,Valid_From\ndrug:c,rate,0.3,0.8,2024-01-01\n'), name: 'sheet.csv'})
    expect(csv).toMatchObject({format: 'csv', added: 1, rejected: 0})
    const [a] = await d.store.assertions('drug:c', 'rate')
    expect(a).toMatchObject({value: 0.3, confidence: 0.8, valid: {from: '2024-01-01'}})
  })

  it('export then ingest elsewhere reproduces the same records', async () => {
    const a = deps()
    await a.store.insert(many(30))
    let text = ''
    await exportOp(a, {write: (c) => void (text += c)})
    const b = deps()
    const res = await ingestOp(b, {input: input(text)})
    expect(res).toMatchObject({added: 30, rejected: 0})
    const ids = async (d: Deps) => {
      const out: string[] = []
      for await (const batch of d.store.scan()) out.push(...batch.map((s) => s.record.id))
      return out
    }
    expect(await ids(b)).toEqual(await ids(a))
  })
})

describe('ingest of one large chunk (a daemon request body)', () => {
  it('splits it into jobs at line ends and keeps line numbers right across the splits', async () => {
    // ~2,600 signed lines (over 1 MiB) in a single chunk, with bad lines early, mid and last.
    const recs = many(2_600, 50, testKey(3))
    const lines = recs.map(line)
    lines.splice(4, 0, '{"not": "a record"}')
    lines.splice(1_699, 0, 'garbage')
    lines.push('{"v":1}')
    const bad = [5, 1_700, lines.length]
    const text = lines.join('\n') + '\n'
    expect(Buffer.byteLength(text)).toBeGreaterThan(1 << 20)
    const d = deps()
    const pool = await startRunner(undefined, {threads: 2})
    let jobs = 0
    const runner = {...pool, parallelism: pool.parallelism, run: (job: Parameters<typeof pool.run>[0]) => (jobs++, pool.run(job))}
    const res = await ingestOp(d, {input: input(text), format: 'ndjson', runner}).finally(() => pool.close())
    // More than one job: both workers get a share of a body that arrived in one piece.
    expect(jobs).toBeGreaterThan(1)
    expect(res.added).toBe(recs.length)
    expect(res.rejected).toBe(3)
    expect(res.errors.map((e) => e.line)).toEqual(bad)
    expect((await collect(d.store)).length).toBe(recs.length)
  })

  it('stops between two jobs of the chunk when aborted (a daemon shutting down), keeping exactly the lines sent', async () => {
    const recs = many(1_000, 50, testKey(4))
    const text = recs.map(line).join('\n') + '\n'
    const d = deps()
    const pool = await startRunner(undefined, {threads: 0})
    const stop = new AbortController()
    // The daemon's shutdown lands while the first job of the one-chunk body is being checked.
    const runner = {...pool, parallelism: pool.parallelism, run: (job: Parameters<typeof pool.run>[0]) => (stop.abort(), pool.run(job))}
    const res = await ingestOp(d, {input: input(text), format: 'ndjson', runner, chunkLines: 100, signal: stop.signal}).finally(() => pool.close())
    expect(res.interrupted).toEqual({afterLine: 100})
    expect(res.lines).toBe(100)
    expect(res.added).toBe(100)
    expect((await collect(d.store)).map((r) => r.id).sort()).toEqual(recs.slice(0, 100).map((r) => r.record.id).sort())
  })
})

describe('ingest of one JSON array (a daemon request body) stopped part way', () => {
  it('stores the elements of the jobs sent before the stop, none after, and says it was interrupted', async () => {
    const recs = many(1_000, 50, testKey(4))
    const text = '[' + recs.map(line).join(',\n') + ']'
    const d = deps()
    const pool = await startRunner(undefined, {threads: 0})
    const stop = new AbortController()
    // The daemon's shutdown lands while the first job of the array is being checked.
    const runner = {...pool, parallelism: pool.parallelism, run: (job: Parameters<typeof pool.run>[0]) => (stop.abort(), pool.run(job))}
    const res = await ingestOp(d, {input: input(text), format: 'json', runner, chunkLines: 100, signal: stop.signal}).finally(() => pool.close())
    expect(res.interrupted).toEqual({})
    expect(res.lines).toBe(100)
    expect(res.added).toBe(100)
    expect((await collect(d.store)).map((r) => r.id).sort()).toEqual(recs.slice(0, 100).map((r) => r.record.id).sort())
  })
})

describe('CSV rows that do not parse', () => {
  const header = 'subject,predicate,value\n'
  const rows = (from: number, n: number) => Array.from({length: n}, (_, i) => `s:${from + i},p,${from + i}`)
  const subjects = async (d: Deps) => new Set((await collect(d.store)).map((r) => (r as {subject?: string}).subject))

  it('a row with a column missing or one too many is one rejected line; every good row before and after it is kept', async () => {
    const text = header + [...rows(0, 3000), 's:x,p', ...rows(3000, 10), 's:y,p,1,extra', ...rows(3010, 5)].join('\n') + '\n'
    const d = deps()
    const res = await ingestOp(d, {input: input(text), format: 'csv'})
    expect(res).toMatchObject({format: 'csv', lines: 3017, added: 3015, rejected: 2})
    expect(res.errors).toEqual([
      {line: 3002, reason: 'CSV row has 2 fields where the header has 3'},
      {line: 3013, reason: 'CSV row has 4 fields where the header has 3'},
    ])
    const got = await subjects(d)
    expect(got.size).toBe(3015)
    expect(got.has('s:0') && got.has('s:2999') && got.has('s:3000') && got.has('s:3014')).toBe(true)
  })

  it('a last line cut off inside a quote is rejected; the rows before it are kept', async () => {
    const d = deps()
    const res = await ingestOp(d, {input: input(header + rows(0, 3000).join('\n') + '\ns:z,p,"cut off'), format: 'csv'})
    expect(res).toMatchObject({lines: 3001, added: 3000, rejected: 1})
    expect(res.errors).toEqual([{line: 3002, reason: 'CSV: a quote opened on this line is not closed (the lines after it are read as rows of their own)'}])
  })

  it('a quote never closed in the middle, or text around a quoted field: that row is rejected and the rows after it are still read', async () => {
    const text = header + ['s:0,p,0', 's:1,p,"open', 's:2,p,2', 's:3,"p" x,3', 's:4,p,4', 's:5,"p"x,5', 's:6,p,6', 's:7,p,"multi', 'line"', 's:8,p"q,8', 's:9,p,9'].join('\r\n')
    const d = deps()
    const res = await ingestOp(d, {input: input(text), format: 'csv'})
    expect(res.errors.map((e) => e.line)).toEqual([3, 5, 7, 11])
    expect(res.errors[0].reason).toMatch(/^CSV: a quote opened on this line is not closed/)
    expect(res.errors[1].reason).toMatch(/^CSV row: text after the closing quote of a field/)
    expect(res.errors[2].reason).toMatch(/^CSV row: text after the closing quote of a field/)
    expect(res.errors[3].reason).toMatch(/^CSV row: a quote inside a field/)
    expect(res).toMatchObject({added: 6, rejected: 4})
    expect(await subjects(d)).toEqual(new Set(['s:0', 's:2', 's:4', 's:6', 's:7', 's:9']))
    expect((await d.store.assertions('s:7', 'p'))[0].value).toBe('multi\nline')
  })
})

describe('picking the format', () => {
  const facts = Array.from({length: 50}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: i}))

  it('an NDJSON file whose first line is damaged is still NDJSON: that line is rejected and the other 50 kept', async () => {
    for (const [first, name] of [
      ['oops', 'facts.ndjson'],
      ['# exported by hand', 'facts.jsonl'],
      ['oops', 'stdin'],
      ['# exported by hand', 'stdin'],
      ['"subject":"s","predicate":"p","value":1}', 'stdin'],
    ]) {
      const res = await ingestOp(deps(), {input: input([first, ...facts].join('\n')), name})
      expect(res, `${name}: ${first}`).toMatchObject({format: 'ndjson', added: 50, rejected: 1})
      expect(res.errors.map((e) => e.line)).toEqual([1])
      expect(res.errors[0].reason).toMatch(/^not valid JSON/)
    }
  })

  it('by extension when the input is a file, --format first, else by a sturdier look at the start', async () => {
    expect(['a.ndjson', 'a.JSONL', 'a.json', 'dir/a.csv', 'a.txt', 'stdin', undefined].map(formatOfName)).toEqual(['ndjson', 'ndjson', 'json', 'csv', undefined, undefined, undefined])
    expect(['[1]', ' \n{"a":1}', '', '\ufeffsubject,predicate,value\n', '"subject","value"', 'confidence , x\n1,2', 'oops', 'a,b,c\n', '# subject,predicate', 'subject,predicate,value,\n'].map(sniffFormat)).toEqual([
      'json', 'ndjson', 'ndjson', 'csv', 'csv', 'csv', 'ndjson', 'ndjson', 'ndjson', 'csv',
    ])
    const csv = 'subject,predicate,value\ns:1,p,1\n'
    expect((await ingestOp(deps(), {input: input(csv), name: 'facts.csv'})).format).toBe('csv')
    expect((await ingestOp(deps(), {input: input(csv), name: 'facts.csv', format: 'ndjson'})).format).toBe('ndjson')
    expect((await ingestOp(deps(), {input: input('[' + facts.join(',') + ']'), name: 'facts.json'})).format).toBe('json')
    // A JSON array starts with [: a .json file that starts with { holds records one per line.
    expect(await ingestOp(deps(), {input: input(facts.join('\n')), name: 'facts.json'})).toMatchObject({format: 'ndjson', added: 50})
  })
})

describe('bytes that are not UTF-8', () => {
  const latin1 = (s: string) => Buffer.from(s, 'latin1')
  const values = async (d: Deps) => (await collect(d.store)).map((r) => (r as {subject?: string}).subject)

  it('NDJSON: a plain fact with them is rejected, not signed with U+FFFD in their place', async () => {
    const fact = (s: string) => JSON.stringify({subject: s, predicate: 'p', value: 1})
    const bytes = Buffer.concat([Buffer.from(fact('s:1') + '\n' + fact('s:caf\u00e9') + '\n' + fact('s:2') + '\n'), latin1(fact('s:caf\u00e9') + '\n'), Buffer.from(fact('s:3'))])
    const d = deps()
    const res = await ingestOp(d, {input: Readable.from([bytes]), format: 'ndjson', chunkLines: 2})
    expect(res).toMatchObject({added: 4, rejected: 1})
    expect(res.errors).toEqual([{line: 4, reason: 'not valid UTF-8 (convert the input to UTF-8)'}])
    expect(new Set(await values(d))).toEqual(new Set(['s:1', 's:caf\u00e9', 's:2', 's:3']))
  })

  it('CSV: the rows with them are rejected, the others kept, a character split between chunks is fine', async () => {
    const text = Buffer.concat([
      Buffer.from('subject,predicate,value\ns:caf\u00e9,p,1\n'),
      latin1('s:na\u00efve,p,2\ns:3,p,"two\nline\u00e9s"\n'),
      Buffer.from('s:4,p,4\ns:\u00e9t\u00e9,p,5'),
    ])
    // Split inside the last é, and inside a line.
    const at = text.length - 6
    const d = deps()
    const res = await ingestOp(d, {input: Readable.from([text.subarray(0, at), text.subarray(at)]), format: 'csv'})
    expect(res).toMatchObject({added: 3, rejected: 2})
    expect(res.errors).toEqual([
      {line: 3, reason: 'not valid UTF-8 (convert the input to UTF-8)'},
      {line: 4, reason: 'not valid UTF-8 (convert the input to UTF-8) (the row on lines 4-5)'},
    ])
    expect(new Set(await values(d))).toEqual(new Set(['s:caf\u00e9', 's:4', 's:\u00e9t\u00e9']))
  })

  it('a JSON array with them is refused as a whole, naming the line, before anything is signed', async () => {
    const d = deps()
    const text = Buffer.concat([Buffer.from('[{"subject":"s:1","predicate":"p","value":1},\n'), latin1('{"subject":"s:caf\u00e9","predicate":"p","value":1}]')])
    await expect(ingestOp(d, {input: Readable.from([text]), name: 'facts.json'})).rejects.toThrow('facts.json:2: not valid UTF-8, so nothing from this JSON array was stored')
    expect((await d.store.stats()).records).toBe(0)
  })
})

describe('a byte order mark', () => {
  it('at the start of a CSV (Excel\'s "CSV UTF-8") or a JSON array is dropped, as for NDJSON', async () => {
    const d = deps()
    const csv = await ingestOp(d, {input: input('\ufeffsubject,predicate,value\r\ns:1,p,1\r\ns:2,p,caf\u00e9\r\n'), name: 'stdin'})
    expect(csv).toMatchObject({format: 'csv', added: 2, rejected: 0})
    expect((await d.store.assertions('s:2', 'p'))[0].value).toBe('caf\u00e9')
    const arr = await ingestOp(d, {input: input('\ufeff[{"subject":"s:3","predicate":"p","value":3}]'), name: 'facts.json'})
    expect(arr).toMatchObject({format: 'json', added: 1, rejected: 0})
    const named = await ingestOp(d, {input: input('\ufeffsubject,predicate,value\ns:4,p,4\n'), name: 'facts.csv'})
    expect(named).toMatchObject({format: 'csv', added: 1, rejected: 0})
  })
})

describe('what messages say about running an ingest again', () => {
  it('plain facts ingested again are stored again (signed anew), signed records are skipped', async () => {
    const d = deps()
    const facts = input('{"subject":"s:1","predicate":"p","value":1}\n')
    expect((await ingestOp(d, {input: facts})).added).toBe(1)
    expect((await ingestOp(d, {input: input('{"subject":"s:1","predicate":"p","value":1}\n')})).added).toBe(1)
    const signed = line(assertion())
    expect((await ingestOp(d, {input: input(signed)})).added).toBe(1)
    expect(await ingestOp(d, {input: input(signed)})).toMatchObject({added: 0, present: 1})
  })

  it('through a daemon that rejects part of a batch: the hint says what went in and that plain facts would go in twice', async () => {
    const client = new RemoteClient('http://127.0.0.1:1', undefined)
    client.postRecords = async (body: string) => {
      const n = body.trim().split('\n').length
      return {lines: n, added: n - 1, present: 0, rejected: 1, bytes: body.length, format: 'ndjson', errors: [{line: 2, reason: 'agent: is not on the allowlist'}]}
    }
    const d: Deps = {...deps(), store: client.store()}
    const err = await ingestOp(d, {input: input('{"subject":"s:1","predicate":"p","value":1}\n{"subject":"s:2","predicate":"p","value":2}\n')}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).hint).not.toMatch(/records before this batch were stored; fix the cause \(allowlist, clock skew\) and run again/)
    expect((err as UserError).hint).toMatch(/the daemon stored the records it accepted/)
    expect((err as UserError).hint).toMatch(/plain facts are signed anew each time/)
  })
})
