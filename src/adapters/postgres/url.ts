/** PostgreSQL store URLs: what the driver connects to, which schema holds the store, and a printable form without the password. */
import {UserError} from '../../core/errors.js'

export const DEFAULT_SCHEMA = 'steme'

export interface PgTarget {
  /** Connection string for the driver (the URL minus steme's own `schema` parameter). */
  connectionString: string
  /** The PostgreSQL schema (namespace) that holds the store's tables. */
  schema: string
  /** The URL as it may be printed: no password, no query parameters but those that choose the server (`host`, `port`) and the store (`schema`). */
  location: string
}

// Parsed by hand: WHATWG URL rejects libpq forms such as postgres://user@/db?host=/run/postgresql.
// The authority ends at the first / ? or #, and within it the user info at the last @, as the
// driver reads it: a password holding @ is the driver's to decode, never part of the host.
const URL_RE = /^(postgres(?:ql)?:\/\/)(?:([^/?#]*)@)?([^@/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i

/** The sslmode values the driver (node-postgres) knows; it takes any other as "SSL on", silently. */
const SSLMODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url)

export function parsePgUrl(url: string): PgTarget {
  // user:pass/word@host, user:pass?word@host, user:pass#word@host: the authority ends inside the
  // password, whose first part reads as a port. Said as such, and the password never printed, not
  // even in part (as a host or a path it would be).
  const prefix = /^postgres(?:ql)?:\/\//i.exec(url)?.[0]
  if (prefix) {
    const rest = url.slice(prefix.length)
    const authority = /^[^/?#]*/.exec(rest)![0]
    const at = rest.lastIndexOf('@')
    // With digits alone before the character (user:2024/pw@host), the password's first part reads
    // as a port, and the rest as a path, a query or a fragment, printed as such. An @ where none
    // belongs tells it apart: in the path (a database name), in a first query parameter's name,
    // or anywhere after a #. An @ in a query value (?user=me@corp) is not one of them.
    const after = rest.slice(authority.length)
    const path = /^[^?#]*/.exec(after)![0]
    const param = after[path.length] === '?' ? /^[^=&#]*/.exec(after.slice(path.length + 1))![0] : ''
    const misplaced = path.includes('@') || param.includes('@') || /#.*@/.test(after)
    if (!authority.includes('@') && at > authority.length && /^[^[:]*:/.test(authority) && (misplaced || !/^[^[:]*:\d*$/.test(authority))) {
      throw new UserError(`${prefix}${authority.split(':')[0]}:***@${rest.slice(at + 1)} is not a usable PostgreSQL URL: its password holds a character that ends the user and password part of a URL (/ ? or #)`, {
        code: 'config',
        hint: 'percent-encode those characters in the password (/ as %2F, ? as %3F, # as %23, @ as %40), or leave the password out of the URL and set PGPASSWORD',
      })
    }
  }
  const m = URL_RE.exec(url)
  if (!m) {
    throw new UserError(`${redact(url)} is not a PostgreSQL URL`, {code: 'config', hint: 'write it as postgres://user@host:port/database (the password in PGPASSWORD or ~/.pgpass, or as user:password@)'})
  }
  const [, scheme, userinfo, host, path = '', query = ''] = m
  const port = /:([^\]:]*)$/.exec(host)?.[1]
  if (port !== undefined && !/^\d{1,5}$/.test(port)) {
    throw new UserError(`${redact(url)} has port "${port}", which is not a port number`, {code: 'config', hint: 'write it as postgres://user@host:5432/database, or leave the port out for 5432'})
  }
  const params = new URLSearchParams(query.slice(1))
  const schema = params.get('schema') ?? DEFAULT_SCHEMA
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new UserError(`schema=${schema} in ${redact(url)} is not a plain lowercase SQL identifier`, {code: 'config', hint: 'use letters, digits and _ (for example ?schema=steme_team)'})
  }
  const sslmode = params.get('sslmode')
  if (sslmode === 'allow') {
    // libpq's (try without SSL, then with): a URL written for psql may carry it.
    throw new UserError(`sslmode=allow in ${redact(url)} is libpq's, which steme's driver (node-postgres) does not know: it would take it as SSL on, with the certificate checked`, {
      code: 'config',
      hint: 'use sslmode=disable for a server without SSL, or sslmode=verify-full (no-verify to skip the certificate check) for one with it',
    })
  }
  if (sslmode !== null && !SSLMODES.includes(sslmode)) {
    throw new UserError(`sslmode=${sslmode} in ${redact(url)} is not an SSL mode`, {code: 'config', hint: `use one of ${SSLMODES.join(', ')}`})
  }
  params.delete('schema')
  const rest = params.toString()
  const user = userinfo === undefined ? '' : userinfo.split(':')[0]
  // host= and port= (a Unix socket directory, another cluster's port) choose the server, over
  // what the authority says: kept, so that stores on two servers never print alike (migrate takes
  // one location for one store) and a command a hint prints reaches this server.
  const shown = (['host', 'port'] as const).filter((k) => params.has(k)).map((k) => `${k}=${encodeURIComponent(params.get(k)!).replaceAll('%2F', '/')}`)
  if (schema !== DEFAULT_SCHEMA) shown.push(`schema=${schema}`)
  return {
    connectionString: `${scheme}${userinfo === undefined ? '' : userinfo + '@'}${host}${path}${rest ? '?' + rest : ''}`,
    schema,
    location: `${scheme.toLowerCase()}${user ? user + '@' : ''}${host}${path}${shown.length ? '?' + shown.join('&') : ''}`,
  }
}

/** A URL with any password removed (or replaced by `mask`, such as ':***'), for messages about URLs that did not parse. */
export function redact(url: string, mask = ''): string {
  // Up to the last @: a password may hold / ? # or @ itself.
  return url.replace(/(\/\/[^:@/]*):.*@/, `$1${mask}@`).replace(/([?&]password=)[^&]*/i, '$1***')
}
