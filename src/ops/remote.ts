/** Named remotes in `.steme/config.toml` under [remotes]: add, remove, list (edits keep the file's comments). */
import {existsSync, readFileSync} from 'node:fs'
import {isAbsolute, join} from 'node:path'
import {UserError} from '../core/errors.js'
import {CONFIG_FILE, locateStore, readConfig} from '../config.js'
import {REMOTE_NAME, parseRemote, remoteKind} from '../sync/remote.js'
import {redactUrls} from '../core/redact.js'
import {replaceFileSync} from '../output-file.js'

export interface RemoteEntry {
  name: string
  url: string
  kind: 'path' | 'ssh' | 'http'
}

/** What `remote add` stored: a relative path is stored absolute (`given` is what was typed); `missing` when no store is there yet. */
export interface AddedRemote extends RemoteEntry {
  given?: string
  missing?: boolean
}

/** Whether a store (a directory holding .steme/, a .steme directory, or a store file) is at `path`. */
function storeAt(path: string): boolean {
  try {
    return existsSync(locateStore(path, {}, '/').url)
  } catch {
    return false
  }
}

function configPath(dir: string | undefined): string {
  if (!dir) throw new UserError('this store has no .steme directory to keep remotes in', {code: 'config', hint: 'use a store created by `steme init`'})
  return join(dir, CONFIG_FILE)
}

export function listRemotes(dir: string | undefined): RemoteEntry[] {
  const cfg = readConfig(dir)
  return Object.entries(cfg.remotes)
    // Shown, so without credentials; and whatever the file holds is listed, even a spec pull would refuse.
    .map(([name, url]) => ({name, url: redactUrls(url), kind: remoteKind(url)}))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** Lines of the [remotes] table: [start, end) line indexes, or undefined when there is none. */
function remotesSection(lines: string[]): [number, number] | undefined {
  const start = lines.findIndex((l) => /^\s*\[remotes\]\s*(#.*)?$/.test(l))
  if (start < 0) return undefined
  let end = start + 1
  while (end < lines.length && !/^\s*\[/.test(lines[end])) end++
  return [start, end]
}

const keyRe = (name: string) => new RegExp(`^\\s*("${name}"|${name})\\s*=`)

/**
 * Add a remote. A path is resolved against `cwd` (where it was typed, as `steme pull <path>` does)
 * and stored absolute: a relative path in the config is resolved against the store's directory
 * instead, which from a subdirectory names another place, possibly another store.
 */
export function addRemote(dir: string | undefined, name: string, spec: string, cwd = process.cwd()): AddedRemote {
  if (!REMOTE_NAME.test(name)) throw new UserError(`"${name}" is not a valid remote name`, {hint: 'use letters, digits, - and _ (up to 64), not starting with -'})
  const parsed = parseRemote(spec, cwd)
  const kind = parsed.kind
  const url = parsed.kind === 'path' ? parsed.path : spec
  const path = configPath(dir)
  if (readConfig(dir).remotes[name] !== undefined) throw new UserError(`a remote named ${name} already exists`, {hint: `remove it first with \`steme remote remove ${name}\``})
  const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const lines = text.split('\n')
  const line = `${name} = ${JSON.stringify(url)}`
  const sec = remotesSection(lines)
  if (sec) {
    let at = sec[1]
    while (at > sec[0] + 1 && lines[at - 1].trim() === '') at--
    lines.splice(at, 0, line)
  } else {
    if (lines.length && lines[lines.length - 1] !== '') lines.push('')
    lines.push('[remotes]', line, '')
  }
  replaceFileSync(path, lines.join('\n'))
  readConfig(dir)
  const added: AddedRemote = {name, url: redactUrls(url), kind}
  if (parsed.kind === 'path') {
    if (!isAbsolute(spec)) added.given = spec
    if (!storeAt(parsed.path)) added.missing = true
  }
  return added
}

export function removeRemote(dir: string | undefined, name: string): RemoteEntry {
  const path = configPath(dir)
  const url = readConfig(dir).remotes[name]
  if (url === undefined) throw new UserError(`no remote named ${name}`, {code: 'not_found', hint: 'see `steme remote list`'})
  const lines = readFileSync(path, 'utf8').split('\n')
  const sec = remotesSection(lines)!
  const i = lines.slice(sec[0], sec[1]).findIndex((l) => keyRe(name).test(l))
  if (i < 0) throw new UserError(`remote ${name} is not a plain "name = url" line in ${path}`, {code: 'config', hint: 'edit the file by hand'})
  lines.splice(sec[0] + i, 1)
  replaceFileSync(path, lines.join('\n'))
  return {name, url: redactUrls(url), kind: remoteKind(url)}
}
