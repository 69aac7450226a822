/** Host key checking against OpenSSH known_hosts files (plain and hashed entries, [host]:port, wildcards). */
import {createHash, createHmac, randomBytes} from 'node:crypto'
import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {dirname} from 'node:path'

export type HostKeyVerdict = {status: 'known'} | {status: 'unknown'} | {status: 'changed'; line: number} | {status: 'revoked'; line: number}

/** The name known_hosts uses for a host: `host` on port 22, else `[host]:port`. */
export const hostEntryName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`)

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown'
  const n = blob.readUInt32BE(0)
  return blob.subarray(4, 4 + n).toString('latin1')
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export const keyFingerprint = (blob: Buffer) => 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i')
  return re.test(name)
}

function hostMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|')
    if (!salt || !hash) return false
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
  }
  let hit = false
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false
    } else if (globMatch(p, name)) hit = true
  }
  return hit
}

/** Check a presented host key against known_hosts. A matching host with only other keys is "changed". */
export function checkHostKey(file: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  return checkHostKeyAs(file, hostEntryName(host, port), blob)
}

/**
 * Check a host key under the name known_hosts would use (`[host]:port`, or a HostKeyAlias). A
 * key marked @revoked is refused wherever its line stands, even after a line that lists it as
 * the host's key, as OpenSSH refuses it.
 */
export function checkHostKeyAs(file: string, name: string, blob: Buffer): HostKeyVerdict {
  if (!existsSync(file)) return {status: 'unknown'}
  const type = keyType(blob)
  let changed: number | undefined
  let known = false
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (!line || line.startsWith('#')) continue
    let fields = line.split(/\s+/)
    let marker: string | undefined
    if (fields[0].startsWith('@')) {
      marker = fields[0]
      fields = fields.slice(1)
    }
    // Only @revoked is acted on: @cert-authority (steme checks no certificates) and any other
    // marker (`@REVOKED`, a typo) make the line no host key at all, as OpenSSH skips them.
    if (fields.length < 3 || (marker !== undefined && marker !== '@revoked')) continue
    if (!hostMatches(fields[0], name)) continue
    const same = Buffer.from(fields[2], 'base64').equals(blob)
    if (marker === '@revoked') {
      if (same) return {status: 'revoked', line: i + 1}
      continue
    }
    if (same) known = true
    else if (fields[1] === type) changed ??= i + 1
  }
  if (known) return {status: 'known'}
  return changed === undefined ? {status: 'unknown'} : {status: 'changed', line: changed}
}

/** Record a host key, as `ssh -o StrictHostKeyChecking=accept-new` would. */
export function addHostKey(file: string, host: string, port: number, blob: Buffer): void {
  addHostKeyAs(file, hostEntryName(host, port), blob)
}

/** Record a host key under the name known_hosts would use; `hashed` (HashKnownHosts yes) writes the name as ssh hashes it. */
export function addHostKeyAs(file: string, name: string, blob: Buffer, opts: {hashed?: boolean} = {}): void {
  mkdirSync(dirname(file), {recursive: true, mode: 0o700})
  const salt = randomBytes(20)
  const field = opts.hashed ? `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}` : name
  appendFileSync(file, `${field} ${keyType(blob)} ${blob.toString('base64')}\n`, {mode: 0o600})
}
