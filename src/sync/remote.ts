/** Remote specs (`ssh://user@host:port/path`, `http(s)://host:port`, a path) and opening the matching transport. */
import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {UserError} from '../core/errors.js'
import {redactUrls} from '../core/redact.js'
import {isPostgresUrl, parsePgUrl} from '../adapters/postgres/url.js'
import type {Transport} from '../core/transport.js'
import type {SshOptions} from './transports/ssh.js'

/** A remote's name in [remotes]; not starting with `-`, which `steme pull -x` would read as a flag. */
export const REMOTE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/

export type RemoteSpec = {kind: 'path'; path: string} | {kind: 'ssh'; user?: string; host: string; port?: number; path: string} | {kind: 'http'; url: string}

/** What kind of remote a spec names, without checking it (for listing whatever the config holds). */
export function remoteKind(spec: string): RemoteSpec['kind'] {
  return /^https?:\/\//i.test(spec) ? 'http' : /^ssh:\/\//i.test(spec) ? 'ssh' : 'path'
}

export function parseRemote(spec: string, cwd = process.cwd()): RemoteSpec {
  const shown = redactUrls(spec)
  if (/^https?:\/\//i.test(spec)) {
    let u: URL
    try {
      u = new URL(spec)
    } catch {
      throw new UserError(`"${shown}" is not a valid URL`, {hint: 'write it as http://host:port'})
    }
    // A URL's credentials would go out as basic auth (steme serve takes a bearer token), and be
    // echoed in every message.
    if (u.username || u.password) {
      throw new UserError(`the remote URL ${shown} carries credentials (user:token@)`, {
        code: 'config',
        hint: 'put the token in STEME_TOKEN instead (or pass --token) and use the URL without them, e.g. http://host:port',
      })
    }
    return {kind: 'http', url: u.toString().replace(/\/+$/, '')}
  }
  if (/^ssh:\/\//i.test(spec)) {
    let u: URL
    try {
      u = new URL(spec)
    } catch {
      throw new UserError(`"${shown}" is not a valid ssh:// URL`, {hint: 'write it as ssh://user@host[:port]/path/to/store'})
    }
    // steme logs in with keys only: a password here would never be used, yet `remote add` would
    // write it into config.toml, which is shared in git.
    if (u.password) {
      throw new UserError(`the remote URL ${shown} carries a password`, {
        code: 'config',
        hint: `steme logs in over SSH with keys only (ssh-agent, ~/.ssh/id_*, or --identity <key file>): write it without the password, e.g. ssh://${decodeURIComponent(u.username) || 'user'}@${u.host}${u.pathname}`,
      })
    }
    const path = decodeURIComponent(u.pathname)
    if (!u.hostname || !path || path === '/') throw new UserError(`"${shown}" names no store path`, {hint: 'write it as ssh://user@host[:port]/path/to/store (the path is absolute; use /~/dir for the home directory)'})
    return {
      kind: 'ssh',
      // Without a user or port in the URL, the SSH config's User and Port apply (else the local user, 22).
      user: decodeURIComponent(u.username) || undefined,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : undefined,
      path: path.startsWith('/~/') ? path.slice(3) : path,
    }
  }
  if (isPostgresUrl(spec)) {
    // Named by its password-free location; a URL whose password ends it early is refused there, masked.
    throw new UserError(`the PostgreSQL store ${parsePgUrl(spec).location} is no sync remote: sync talks to another steme (a store on disk, over ssh or http)`, {
      code: 'usage',
      hint: 'open the PostgreSQL store on this side, with --store <postgres URL> (or STEME_STORE), and sync it with a path, ssh:// or http(s):// remote; to copy every record from one store to another, including between two PostgreSQL stores: `steme migrate --from <store> --to <store>`',
    })
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new UserError(`unsupported remote "${shown}"`, {hint: 'use ssh://user@host[:port]/path, http(s)://host:port, or a path to a store'})
  if (!spec.trim()) throw new UserError('the remote is empty', {hint: 'give a path to a store, ssh://user@host[:port]/path or http(s)://host:port'})
  const path = resolve(cwd, spec)
  const meant = existsSync(path) ? undefined : urlMeant(spec)
  if (meant) throw new UserError(`"${spec}" looks like ${meant.what}, not a path to a store`, {hint: `write it as ${meant.url}${spec.startsWith('-') ? '' : ` (a local path of that name: ./${spec})`}`})
  return {kind: 'path', path}
}

/**
 * The URL a path that does not exist was probably meant to be: an scp-style address
 * (`user@host:path`, `host:/path`, as git and scp take them) or a scheme missing its `://`
 * (`ssh//host/path`, `ssh:/host/path`, `https//host`).
 */
function urlMeant(spec: string): {what: string; url: string} | undefined {
  const typo = /^(ssh|https?)(?::\/?|\/\/)(?!\/)(.+)$/i.exec(spec)
  if (typo) return {what: `an ${typo[1].toLowerCase()}:// URL missing its "://"`, url: `${typo[1].toLowerCase()}://${typo[2]}`}
  const scp = /^(?:([^@/\s]+)@)?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):(.*)$/.exec(spec)
  if (scp && (scp[1] !== undefined || scp[3].startsWith('/'))) {
    const rest = scp[3].startsWith('/') ? scp[3] : `/~/${scp[3].replace(/^~\/?/, '')}`
    return {what: 'an scp-style address', url: `ssh://${scp[1] !== undefined ? `${scp[1]}@` : ''}${scp[2]}${rest}`}
  }
  return undefined
}

export interface OpenOptions extends Pick<SshOptions, 'acceptHostKey' | 'remoteCmd' | 'identities' | 'knownHosts' | 'onNote'> {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** HTTP: the bearer token (default: STEME_TOKEN). */
  token?: string
}

/** Open a transport to a remote; `name` is what the user called it (a configured name or the spec itself). */
export async function openTransport(name: string, spec: string, opts: OpenOptions = {}): Promise<Transport> {
  const r = parseRemote(spec, opts.cwd)
  const label = name === spec ? redactUrls(spec) : `${name} (${redactUrls(spec)})`
  if (r.kind === 'path') {
    const {openPathTransport} = await import('./transports/path.js')
    return openPathTransport(label, r.path, opts.env, (ms) => {
      if (process.stderr.isTTY) opts.onNote?.(`waiting for the store of remote ${label}: another process holds it (for up to ${Number((ms / 1000).toFixed(1))} s)`)
    })
  }
  if (r.kind === 'http') {
    const {openHttpTransport} = await import('./transports/http.js')
    // `steme serve` wants a bearer token: STEME_TOKEN, as for --remote.
    const token = opts.token ?? (opts.env ?? process.env).STEME_TOKEN
    return openHttpTransport(label, r.url, token ? {headers: {authorization: `Bearer ${token}`}} : {})
  }
  const {openSshTransport} = await import('./transports/ssh.js')
  return openSshTransport(label, r, {...opts, env: opts.env})
}
