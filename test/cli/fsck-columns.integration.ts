/** fsck checks the typed columns kept for queries against each record, on a real DuckDB file changed behind steme's back. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, tamperStore, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterAll(() => sb.cleanup())

const tamper = (sql: string) => tamperStore(sb, sql)

describe('steme fsck and the typed columns', () => {
  it('reports a record whose typed column was changed (it vanished from queries), with the column, stored and expected; exit 1', () => {
    const a = sb.run(['assert', 't:x', 'p', 'A']).stdout.trim()
    const b = sb.run(['assert', 't:x', 'p', 'B', '--evidence', a]).stdout.trim()
    expect(sb.json<{bad: unknown[]}>(['fsck']).bad).toEqual([])
    tamper(`UPDATE records SET subject = 't:evil' WHERE id = unhex('${a}'); DELETE FROM refs WHERE src = unhex('${b}')`)
    // The record is sound, only its index column lies: queries by subject no longer find it.
    expect(sb.json<{candidates: unknown[]}>(['query', 't:x', 'p']).candidates.length).toBe(1)
    const fsck = sb.run(['fsck'])
    expect(fsck.code).toBe(1)
    expect(fsck.stdout).toContain('2 records checked, 2 bad')
    expect(fsck.stderr).toContain(`bad record ${a}: typed columns disagree with the record: subject is stored as "t:evil", the record says "t:x"`)
    expect(fsck.stderr).toContain(`bad record ${b}: its refs table rows disagree with the record: they hold "", the record declares "evidence:${a}"`)
    const json = JSON.parse(sb.run(['fsck', '--json']).stdout)
    expect(json.bad.find((x: {id: string}) => x.id === a).columns).toEqual([{column: 'subject', stored: 't:evil', expected: 't:x'}])
  })
})
