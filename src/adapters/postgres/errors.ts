/** Turn driver and server errors met while opening a PostgreSQL store into UserErrors that say what to do. */
import {UserError} from '../../core/errors.js'
import {shellWord} from '../../core/words.js'

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOENT', 'EPIPE'])

/** Driver codes of a connection that could not be made at all, as against one that broke. */
const NOT_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', '57P03'])

/** SQLSTATEs of a new connection the server refused: too many connections, the login, the database. */
const REFUSED = new Set(['53300', '28000', '28P01', '3D000'])

/** A database an admin closed to connections (ALTER DATABASE ... ALLOW_CONNECTIONS false). */
const notAccepting = (code: string | undefined, msg: string) => code === '55000' && /not currently accepting connections/i.test(msg)

/** SQLSTATEs (and driver codes) a caller may retry after: the whole transaction was rolled back. */
export const RETRYABLE = new Set(['40001', '40P01'])

export function pgCode(e: unknown): string | undefined {
  const code = (e as {code?: unknown})?.code
  return typeof code === 'string' ? code : undefined
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** An error from connecting to (or first querying) the server behind `location`. */
export function connectError(location: string, e: unknown): UserError {
  const code = pgCode(e)
  const msg = message(e)
  const sqlstate = code !== undefined && /^[0-9A-Z]{5}$/.test(code)
  // A certificate or key file the URL names (sslrootcert, sslcert, sslkey), read by the driver before it connects.
  if (code !== undefined && (e as {syscall?: unknown}).syscall === 'open') {
    return new UserError(`cannot open the PostgreSQL store ${location}: a file its URL names cannot be read: ${msg}`, {
      code: 'config',
      hint: 'check the sslrootcert, sslcert and sslkey paths in the URL',
      cause: e,
    })
  }
  if (/server does not support SSL/i.test(msg)) {
    return new UserError(`the PostgreSQL server for ${location} does not accept SSL connections, and the URL's sslmode asks for SSL`, {
      code: 'config',
      hint: 'turn SSL on at the server; or, on a network you trust, set sslmode=disable. (steme\'s driver, node-postgres, reads sslmode prefer, require and verify-ca as verify-full: it never falls back to an unencrypted connection)',
      cause: e,
    })
  }
  // A Unix socket (host= a directory): nothing listens at that path.
  const socket = code === 'ENOENT' || code === 'ECONNREFUSED' ? (e as {address?: unknown}).address : undefined
  if (typeof socket === 'string' && socket.startsWith('/')) {
    return new UserError(`cannot reach the PostgreSQL server for ${location}: no server listens on the Unix socket ${socket} (${msg})`, {
      code: 'remote',
      hint: 'check host= in the URL (the directory of the socket, the server\'s unix_socket_directories) and the port (part of the socket\'s name, .s.PGSQL.<port>), and that the server is running',
      cause: e,
    })
  }
  if ((code !== undefined && UNREACHABLE.has(code)) || (!sqlstate && /timeout|terminated/i.test(msg))) {
    return new UserError(`cannot reach the PostgreSQL server for ${location}: ${msg}`, {
      code: 'remote',
      hint: 'check the host and port in the URL, that the server is running, and that it accepts TCP connections from this machine (listen_addresses, pg_hba.conf, firewalls)',
      cause: e,
    })
  }
  if (code === '28P01' || code === '28000' || /password|SASL|SCRAM/i.test(msg)) {
    return new UserError(`PostgreSQL refused the login for ${location}: ${msg}`, {
      code: 'unauthorized',
      hint: 'check the user and password: give the password in PGPASSWORD, in ~/.pgpass, or in the URL as postgres://user:password@host/db',
      cause: e,
    })
  }
  if (code === '3D000') {
    return new UserError(`the database of ${location} does not exist: ${msg}`, {
      code: 'no_store',
      hint: `create it (createdb, or CREATE DATABASE as an admin), then run \`steme init --store ${shellWord(location)}\``,
      cause: e,
    })
  }
  if (code === '42501') return privilegeError(location, e)
  if (code === '53300' || code === '57P03' || notAccepting(code, msg)) {
    return new UserError(`the PostgreSQL server for ${location} accepts no connections right now: ${msg}`, {
      code: 'remote',
      exit: 1,
      hint: 'retry later; each steme process opens up to 4 connections: raise max_connections (or the CONNECTION LIMIT of the role or the database), or put PgBouncer in front of the server',
      cause: e,
    })
  }
  return new UserError(`cannot open the PostgreSQL store ${location}: ${msg}`, {code: 'remote', hint: 'check the URL and the server log', cause: e})
}

/**
 * An error from a server that went away while a command was using the store (a restart, a
 * failover, an admin ending the session): what was committed stays, the statement in flight was
 * rolled back, and writes are idempotent, so running the command again finishes the work.
 */
export function lostError(location: string, e: unknown): UserError {
  const code = pgCode(e)
  // Refused, unresolvable or timed out on reconnecting: the server is not back (yet).
  if ((code !== undefined && NOT_THERE.has(code)) || (code === undefined && /timeout/i.test(message(e)))) return connectError(location, e)
  return new UserError(`lost the connection to the PostgreSQL server for ${location}: ${message(e)}`, {
    code: 'remote',
    exit: 1,
    hint: 'what was committed before stays, and the batch in flight was rolled back: once the server is up, run the command again (signed records already stored are skipped; plain facts are signed anew on each ingest, so `steme ingest` of them would store those committed a second time)',
    cause: e,
  })
}

const privilegeError = (location: string, e: unknown, exit: 1 | 2 = 2) =>
  new UserError(`the PostgreSQL user of ${location} lacks a privilege steme needs: ${message(e)}`, {
    code: 'forbidden',
    exit,
    hint: 'to create the store the user needs CREATE on the database (GRANT CREATE ON DATABASE db TO user), or a schema an admin made for it (CREATE SCHEMA steme AUTHORIZATION user); to read it, USAGE on the schema and SELECT on its tables; to write, also INSERT/UPDATE on its tables and TEMPORARY on the database (inserts stage batches in temporary tables)',
    cause: e,
  })

/**
 * An error from a statement on an open store that the user, not steme, can fix: a connection
 * lost, a missing privilege, a server that takes no writes. Anything else is returned as it is
 * (a bug in a statement).
 */
export function storeError(location: string, e: unknown): unknown {
  if (isConnectionLoss(e)) return lostError(location, e)
  const code = pgCode(e)
  // A connection the pool opened part way through the command and the server would not give:
  // too many connections (many steme processes at once), the database closed to connections,
  // dropped, or the login refused since. Said as on opening, not as a bug.
  if (code !== undefined && (REFUSED.has(code) || notAccepting(code, message(e)))) return connectError(location, e)
  // Exit 1, as for a file steme may not write: the store is there, the same command works once granted.
  if (code === '42501') return privilegeError(location, e, 1)
  if (code === '25006') {
    return new UserError(`the PostgreSQL server for ${location} takes no writes: ${message(e)}`, {
      code: 'forbidden',
      exit: 1,
      hint: 'point the URL at the primary, not a standby; or, if default_transaction_read_only is set for this user or database, write as a user without it',
      cause: e,
    })
  }
  return e
}

/** Whether an error means the server went away (or never answered), rather than a bug in a statement. */
export function isConnectionLoss(e: unknown): boolean {
  const code = pgCode(e)
  // "... is not queryable": a checked-out connection (a scan's cursor between fetches) that died while idle.
  if (code === undefined) return /Connection terminated|timeout|is not queryable/i.test(message(e))
  return UNREACHABLE.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03'
}
