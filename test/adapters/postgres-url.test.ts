import {describe, expect, it} from 'vitest'
import {parsePgUrl, redact} from '../../src/adapters/postgres/url.js'
import {UserError} from '../../src/core/errors.js'
import {copyRows, pgText} from '../../src/adapters/postgres/copy.js'
import {assertion} from '../helpers/records.js'

describe('PostgreSQL store URLs', () => {
  it.each([
    ['postgres://steme@db/steme', 'postgres://steme@db/steme', 'steme', 'postgres://steme@db/steme'],
    ['postgres://u:s3cret@db:5433/x', 'postgres://u:s3cret@db:5433/x', 'steme', 'postgres://u@db:5433/x'],
    ['postgresql://u:p%40ss@h/d?schema=team_a&sslmode=require', 'postgresql://u:p%40ss@h/d?sslmode=require', 'team_a', 'postgresql://u@h/d?schema=team_a'],
    ['postgres://u@/d?host=/run/postgresql', 'postgres://u@/d?host=%2Frun%2Fpostgresql', 'steme', 'postgres://u@/d?host=/run/postgresql'],
    ['POSTGRES://h/d?password=hunter2', 'POSTGRES://h/d?password=hunter2', 'steme', 'postgres://h/d'],
  ])('%s', (url, connectionString, schema, location) => {
    expect(parsePgUrl(url)).toEqual({connectionString, schema, location})
  })

  it('refuses a schema that is not a plain identifier, without echoing the password', () => {
    expect(() => parsePgUrl('postgres://u:pw@h/d?schema=a;drop')).toThrow(/schema=a;drop in postgres:\/\/u@h\/d/)
  })

  it('a password holding @ is user info, never part of the host it prints', () => {
    expect(parsePgUrl('postgres://u:pa@ss@h:5433/d')).toEqual({connectionString: 'postgres://u:pa@ss@h:5433/d', schema: 'steme', location: 'postgres://u@h:5433/d'})
    expect(parsePgUrl('postgres://u:a@b@c@h/d?application_name=x@y').location).toBe('postgres://u@h/d')
    expect(parsePgUrl('postgres://h:5432/d?application_name=x@y').location).toBe('postgres://h:5432/d')
  })

  /** The error parsing a URL with this password gives. */
  const refusal = (pw: string): UserError => {
    try {
      parsePgUrl(`postgres://u:${pw}@h:5433/d`)
    } catch (e) {
      expect(e).toBeInstanceOf(UserError)
      return e as UserError
    }
    throw new Error(`postgres://u:${pw}@h:5433/d was taken`)
  }

  it.each(['hunter/QZ', 'hunter?QZ', 'hunter#QZ', 'hunter/X?Y#QZ@Q'])('a password holding a character that ends the user info (%s) is refused, and no part of it printed', (pw) => {
    const err = refusal(pw)
    expect(err.message).toBe('postgres://u:***@h:5433/d is not a usable PostgreSQL URL: its password holds a character that ends the user and password part of a URL (/ ? or #)')
    expect(err.hint).toMatch(/percent-encode .* PGPASSWORD/)
    expect(`${err.message} ${err.hint}`).not.toMatch(/hunter|QZ/)
  })

  it.each(['2024/QZ', '2024?QZ', '12#QZ', '/QZ', '5432/X?Y'])('a password whose part before / ? or # is all digits (%s) reads as a port, and is refused the same way', (pw) => {
    const err = refusal(pw)
    expect(err.message).toBe('postgres://u:***@h:5433/d is not a usable PostgreSQL URL: its password holds a character that ends the user and password part of a URL (/ ? or #)')
    expect(`${err.message} ${err.hint}`).not.toMatch(/QZ|2024/)
  })

  it('host= and port= choose the server, so the printed location keeps them (and only them, with schema=)', () => {
    // Debian's second cluster on the same socket directory: the same database name, another store.
    const a = parsePgUrl('postgres://u:pw@/team?host=/run/postgresql&port=5433&sslmode=disable&application_name=x&schema=lab')
    expect(a.location).toBe('postgres://u@/team?host=/run/postgresql&port=5433&schema=lab')
    expect(a.connectionString).toBe('postgres://u:pw@/team?host=%2Frun%2Fpostgresql&port=5433&sslmode=disable&application_name=x')
    expect(parsePgUrl('postgres://u@/team?port=5432&host=/run/postgresql').location).not.toBe(parsePgUrl('postgres://u@/team?port=5433&host=/run/postgresql').location)
    // A host value with characters a query would split on stays one value, and no password comes along.
    expect(parsePgUrl('postgres://h/d?host=/tmp/a%26b&password=hunter2').location).toBe('postgres://h/d?host=/tmp/a%26b')
  })

  it('an @ after a port in the query or path is no password', () => {
    expect(parsePgUrl('postgres://h:5432/d?user=me@corp&sslmode=require').location).toBe('postgres://h:5432/d')
    expect(parsePgUrl('postgres://h:5432?application_name=x@y').location).toBe('postgres://h:5432')
  })

  it('refuses an sslmode the driver does not know, which it would take as SSL on', () => {
    expect(() => parsePgUrl('postgres://u:pw@h/d?sslmode=requried')).toThrow(/^sslmode=requried in postgres:\/\/u@h\/d\?sslmode=requried is not an SSL mode$/)
    // libpq's allow is a mode, only not the driver's: said as such, not as no mode at all.
    expect(() => parsePgUrl('postgres://u:pw@h/d?sslmode=allow')).toThrow(/^sslmode=allow in postgres:\/\/u@h\/d\?sslmode=allow is libpq's, which steme's driver \(node-postgres\) does not know/)
    expect(parsePgUrl('postgres://u@h/d?sslmode=verify-full').connectionString).toBe('postgres://u@h/d?sslmode=verify-full')
  })

  it('a port that is no number is named, the URL shown without its password', () => {
    expect(() => parsePgUrl('postgres://u:pw@db:543a/d')).toThrow(/^postgres:\/\/u@db:543a\/d has port "543a", which is not a port number$/)
    expect(parsePgUrl('postgres://u@[::1]:5433/d').location).toBe('postgres://u@[::1]:5433/d')
    expect(parsePgUrl('postgres://u@[::1]/d').location).toBe('postgres://u@[::1]/d')
  })

  it('redacts passwords in URLs it cannot parse', () => {
    expect(redact('postgres://u:pa/ss@h/d#x')).toBe('postgres://u@h/d#x')
    expect(redact('postgres://u:pw@h/d#x')).toBe('postgres://u@h/d#x')
    expect(redact('postgres://h/d?password=pw&x=1')).toBe('postgres://h/d?password=***&x=1')
  })
})

describe('COPY rows', () => {
  it('escapes the COPY text specials and keeps one line per record', () => {
    const a = assertion({subject: 'a\tb\nc\\d\u0000e', source: 'src\r'})
    const {records, refs} = copyRows([a])
    expect(records).toHaveLength(1)
    expect(refs).toEqual([])
    const fields = records[0].slice(0, -1).split('\t')
    expect(fields).toHaveLength(10)
    expect(fields[0]).toBe('\\\\x' + a.record.id)
    expect(fields[4]).toBe('a\\tb\\nc\\\\d\uFFFDe')
    expect(fields[6]).toBe('\\N')
    expect(fields[7]).toBe('src\\r')
    expect(pgText('x\u0000')).toBe('x\uFFFD')
  })

  it('splits large batches into pieces of about 1 MiB', () => {
    const rs = Array.from({length: 40}, (_, i) => assertion({value: 'v'.repeat(60_000) + i}))
    const {records} = copyRows(rs)
    expect(records.length).toBeGreaterThan(1)
    expect(records.join('').split('\n').length).toBe(41)
  })
})
