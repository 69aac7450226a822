/**
 * A store whose rows were damaged behind steme's back (stored text, a typed column, a signature,
 * changed by SQL on a real DuckDB file): fsck names every bad row and goes on; the commands that
 * read records stop at a damaged one with an error that names it and says to run fsck.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {sandbox, tamperStore, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
const ids: Record<string, string> = {}
beforeAll(() => {
  sb = sandbox('steme-damaged-')
  expect(sb.run(['init']).code).toBe(0)
  for (const s of ['ok', 'text', 'array', 'kind', 'column', 'sig', 'shape']) {
    const r = sb.run(['assert', `d:${s}`, 'p', s])
    expect(r.code).toBe(0)
    ids[s] = r.stdout.trim()
  }
  tamperStore(
    sb,
    `UPDATE records SET canonical = '{' WHERE subject = 'd:text';
     UPDATE records SET canonical = '[1]' WHERE subject = 'd:array';
     UPDATE records SET canonical = '{"kind":"nope"}' WHERE subject = 'd:kind';
     UPDATE records SET kind = 'vote' WHERE subject = 'd:column';
     UPDATE records SET sig = unhex('${'00'.repeat(64)}') WHERE subject = 'd:sig';
     UPDATE records SET canonical = '{"kind":"assertion"}' WHERE subject = 'd:shape'`,
  )
})
afterAll(() => sb.cleanup())

const damagedError = (stderr: string, id: string) => {
  expect(stderr).toContain(`error: record ${id} in the store is damaged: its stored text is not JSON`)
  expect(stderr).toContain('hint: the store is damaged: run `steme fsck` to list every damaged record')
  expect(stderr).not.toMatch(/internal error|\n\s+at /)
}

describe('steme fsck on damaged rows', () => {
  it('names every bad row, what is wrong with it, checks them all and exits 1', () => {
    const r = sb.run(['fsck'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('7 records checked, 6 bad\n')
    expect(r.stderr).toMatch(new RegExp(`bad record ${ids.text}: its stored text is not JSON \\(.+\\): "\\{"\\n`))
    expect(r.stderr).toContain(`bad record ${ids.array}: its stored text is JSON but no record (a record is an object): "[1]"\n`)
    expect(r.stderr).toContain(`bad record ${ids.kind}: its stored text is no record of a known kind (kind "nope"; known kinds: assertion, vote, retract, epoch, trust)\n`)
    expect(r.stderr).toContain(`bad record ${ids.column}: typed columns disagree with the record: kind is stored as "vote", the record says "assertion"\n`)
    expect(r.stderr).toContain(`bad record ${ids.sig}: sig: does not verify against agent for this id\n`)
    // JSON of a known kind without the fields of its kind is damage too, not a record whose
    // columns --repair should rewrite from it.
    expect(r.stderr).toContain(`bad record ${ids.shape}: its stored text is no whole assertion record (agent missing): "{\\"kind\\":\\"assertion\\"}"\n`)
    expect(r.stderr).not.toContain(ids.ok)
    // What to do: --repair for the column, a backup or a peer for the records themselves.
    expect(r.stderr).toContain('hint: `steme fsck --repair` rewrites the columns')
    expect(r.stderr).toContain('hint: a record whose stored text, id or signature is bad cannot be mended from this store')
    expect(r.stderr).not.toMatch(/internal error/)
  })

  it('--json: one entry per bad row with its stored id and reason; exit 1', () => {
    const r = sb.run(['fsck', '--json'])
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as {checked: number; bad: Array<{id: string; reason: string; unsound?: boolean}>; ok: boolean}
    expect(doc.checked).toBe(7)
    // unsound: the record itself fails, which --repair cannot mend; a typed column alone it can.
    expect(doc.bad.filter((b) => b.unsound).map((b) => b.id).sort()).toEqual([ids.text, ids.array, ids.kind, ids.sig, ids.shape].sort())
    expect(doc.ok).toBe(false)
    expect(doc.bad.map((b) => b.id).sort()).toEqual([ids.text, ids.array, ids.kind, ids.column, ids.sig, ids.shape].sort())
    expect(doc.bad.find((b) => b.id === ids.text)!.reason).toMatch(/^its stored text is not JSON/)
  })

  it('--repair mends the column, leaves the damaged records bad and says so; exit 1', () => {
    const r = sb.run(['fsck', '--repair'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('the columns and refs rows of 1 record rewritten')
    expect(r.stderr).toContain('5 records failed the id, signature or canonical-text check')
    const after = JSON.parse(sb.run(['fsck', '--json']).stdout) as {bad: Array<{id: string}>}
    expect(after.bad.map((b) => b.id).sort()).toEqual([ids.text, ids.array, ids.kind, ids.sig, ids.shape].sort())
  })
})

describe('migrate copies the sound records out of a damaged store', () => {
  it('reports each damaged row as a bad record, copies the rest, exits 1; the copy passes fsck', () => {
    const to = join(sb.dir, 'recovered.duckdb')
    const r = sb.run(['migrate', '--from', join(sb.dir, '.steme'), '--to', to, '--json'])
    expect(r.code).toBe(1)
    const res = JSON.parse(r.stdout) as {scanned: number; added: number; bad: number; errors: Array<{id: string; reason: string}>}
    // The typed column does not travel (the copy derives its own); the signature fails its check.
    expect(res).toMatchObject({scanned: 7, added: 2, bad: 5})
    expect(res.errors.map((e) => e.id).sort()).toEqual([ids.text, ids.array, ids.kind, ids.sig, ids.shape].sort())
    expect(res.errors.find((e) => e.id === ids.array)!.reason).toBe('its stored text is JSON but no record (a record is an object): "[1]"')
    expect(sb.run(['fsck', '--store', to]).code).toBe(0)
    expect(sb.run(['show', ids.ok, '--store', to]).code).toBe(0)
    expect(sb.run(['show', ids.column, '--store', to]).code).toBe(0)
  })
})

describe('sync from a damaged store', () => {
  it('the receiving store rejects each damaged row by its id and takes the sound records; exit 1; the damage does not spread', () => {
    const peer = sandbox('steme-damaged-peer-')
    try {
      expect(peer.run(['init']).code).toBe(0)
      const r = peer.run(['pull', join(sb.dir, '.steme')])
      expect(r.code).toBe(1)
      for (const id of [ids.text, ids.array]) expect(r.stderr).toContain(`rejected here ${id.slice(0, 12)}: not valid JSON: `)
      expect(r.stderr).toContain(`rejected here ${ids.sig.slice(0, 12)}: sig: does not verify`)
      expect(r.stderr).toContain(`rejected here ${ids.shape.slice(0, 12)}: `)
      expect(r.stderr).not.toMatch(/internal error/)
      expect(peer.run(['show', ids.ok]).code).toBe(0)
      expect(peer.run(['fsck']).code).toBe(0)
    } finally {
      peer.cleanup()
    }
  })
})

describe('push from a damaged store', () => {
  it('says the records the remote rejected are damaged here, and what to do; exit 1', () => {
    const peer = sandbox('steme-damaged-push-')
    try {
      expect(peer.run(['init']).code).toBe(0)
      const r = sb.run(['push', join(peer.dir, '.steme')])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`rejected by the remote ${ids.text.slice(0, 12)}: not valid JSON: `)
      expect(r.stderr).toMatch(new RegExp(`\\n  record ${ids.text} is damaged in this store, which sent it as stored: its stored text is not JSON \\(`))
      expect(r.stderr).toContain(`  record ${ids.shape} is damaged in this store, which sent it as stored: its stored text is no whole assertion record (agent missing)`)
      expect(r.stderr).toContain('hint: the store is damaged: run `steme fsck`')
      // A record this store holds sound that the remote rejects is not blamed on this store.
      expect(r.stderr).toContain(`rejected by the remote ${ids.sig.slice(0, 12)}: sig: does not verify`)
      expect(r.stderr).not.toContain(`record ${ids.sig} is damaged`)
      expect(r.stderr).not.toMatch(/internal error/)
    } finally {
      peer.cleanup()
    }
  })
})

describe('commands that read records stop at a damaged row, naming it', () => {
  it('log: exit 1, the record and a hint to run fsck; under --json the error document says integrity', () => {
    damagedError(sb.run(['log']).stderr, ids.text)
    const r = sb.run(['log', '--json'])
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as {error: {code: string; message: string; hint: string; id: string}}
    expect(doc.error.code).toBe('integrity')
    expect(doc.error.id).toBe(ids.text)
    expect(doc.error.message).toContain(`record ${ids.text} in the store is damaged`)
    expect(doc.error.hint).toContain('steme fsck')
  })

  it('query and show of the damaged record: exit 1 with the same error; the sound ones still answer', () => {
    const q = sb.run(['query', 'd:text', 'p'])
    expect(q.code).toBe(1)
    damagedError(q.stderr, ids.text)
    const s = sb.run(['show', ids.text])
    expect(s.code).toBe(1)
    damagedError(s.stderr, ids.text)
    expect(sb.run(['query', 'd:ok', 'p']).code).toBe(0)
    expect(sb.run(['show', ids.ok]).code).toBe(0)
  })

  it('export fails loudly and leaves no partial file, rather than a copy that silently lacks a record', () => {
    const out = join(sb.dir, 'all.ndjson')
    const r = sb.run(['export', '-o', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error: record [0-9a-f]{64} in the store is damaged: /)
    expect(r.stderr).toContain('steme fsck')
    expect(existsSync(out)).toBe(false)
  })

  it('a row of a known kind without its fields: log, query, show and export stop at it, naming it, rather than crash or leave it out', () => {
    const named = (r: {code: number; stderr: string}) => {
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`error: record ${ids.shape} in the store is damaged: its stored text is no whole assertion record (agent missing)`)
      expect(r.stderr).toContain('steme fsck')
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
    }
    named(sb.run(['log', 'd:shape']))
    named(sb.run(['query', 'd:shape', 'p']))
    named(sb.run(['query', 'd:shape', '--json']))
    named(sb.run(['show', ids.shape]))
    named(sb.run(['export', '--subject', 'd:shape']))
  })
})

describe('export to stdout that meets a damaged row part way', () => {
  it('says on stderr that the output is incomplete and how many records it holds; exit 1', () => {
    const big = sandbox('steme-damaged-export-')
    try {
      expect(big.run(['init']).code).toBe(0)
      // More than one scan batch (4096) before the damaged record: some records are out already.
      const facts = Array.from({length: 5000}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: i})).join('\n') + '\n'
      expect(big.run(['ingest', '-', '--format', 'ndjson'], {input: facts}).code).toBe(0)
      const late = big.run(['assert', 'd:late', 'p', 'x']).stdout.trim()
      tamperStore(big, `UPDATE records SET canonical = '{' WHERE subject = 'd:late'`)
      const r = big.run(['export'])
      expect(r.code).toBe(1)
      const lines = r.stdout.split('\n').filter(Boolean).length
      expect(lines).toBeGreaterThan(0)
      expect(lines).toBeLessThan(5001)
      expect(r.stderr).toContain(`the export on stdout is incomplete: it stopped after ${lines} records, and the records after them were not written\n`)
      expect(r.stderr).toContain(`error: record ${late} in the store is damaged`)
    } finally {
      big.cleanup()
    }
  })
})

describe('fsck on a record whose text was edited', () => {
  it('does not offer --repair for it (its columns disagree too, but it fails its id check): it says it cannot be mended here', () => {
    const one = sandbox('steme-damaged-edited-')
    try {
      expect(one.run(['init']).code).toBe(0)
      const id = one.run(['assert', 'd:x', 'p', 'v']).stdout.trim()
      tamperStore(one, `UPDATE records SET canonical = replace(canonical, '"d:x"', '"d:y"')`)
      const r = one.run(['fsck'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`bad record ${id}: id: does not match the content`)
      expect(r.stderr).toContain('subject is stored as "d:x", the record says "d:y"')
      expect(r.stderr).not.toContain('`steme fsck --repair` rewrites')
      expect(r.stderr).toContain('hint: a record whose stored text, id or signature is bad cannot be mended from this store')
      const doc = JSON.parse(one.run(['fsck', '--json']).stdout) as {bad: Array<{id: string; unsound?: boolean; columns?: unknown[]}>}
      expect(doc.bad).toHaveLength(1)
      expect(doc.bad[0]).toMatchObject({id, unsound: true})
      expect(doc.bad[0].columns).toHaveLength(1)
      // And --repair indeed leaves it as it is.
      expect(one.run(['fsck', '--repair']).stdout).toContain('nothing to repair')
    } finally {
      one.cleanup()
    }
  })
})
