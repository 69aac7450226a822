/**
 * The git index read in-process (formats 2-4): path, mode and blob id of every staged file, without a
 * `git ls-files` process. Anything this reader does not handle (split or sparse indexes, an unknown
 * version, a damaged file) returns undefined, and the caller asks git instead.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

export interface IndexRecord {
  path: string
  /** Octal, as `git ls-files -s` prints it: 100644, 100755, 120000, 160000. */
  mode: string
  sha: string
  /** Recorded by `git add -N`: a placeholder (the empty blob) for a file `git commit` leaves out. */
  intentToAdd?: boolean
}

export interface GitIndex {
  entries: Map<string, IndexRecord>
  /** Hash of a blob as git names it (sha1 or sha256, per the repo's object format). */
  blobId(data: Buffer): string
}

/** The index git would use: $GIT_INDEX_FILE (set by git for hooks of partial commits), else <gitdir>/index. */
export function indexPath(gitDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.GIT_INDEX_FILE ? resolve(env.GIT_INDEX_FILE) : join(gitDir, 'index')
}

export function readGitIndex(gitDir: string, env: NodeJS.ProcessEnv = process.env): GitIndex | undefined {
  let buf: Buffer
  let config = ''
  try {
    buf = readFileSync(indexPath(gitDir, env))
    config = readFileSync(join(commonDir(gitDir), 'config'), 'utf8')
  } catch {
    return undefined
  }
  const algo = /^\s*objectformat\s*=\s*sha256\s*$/im.test(config) ? 'sha256' : 'sha1'
  const entries = parse(buf, algo === 'sha256' ? 32 : 20)
  if (!entries) return undefined
  return {entries, blobId: (data) => createHash(algo).update(`blob ${data.length}\0`).update(data).digest('hex')}
}

/** Where a linked worktree's git directory keeps what all worktrees share (the config among it): named in its `commondir` file. */
function commonDir(gitDir: string): string {
  try {
    return resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim())
  } catch {
    return gitDir
  }
}

function parse(buf: Buffer, hashLen: number): Map<string, IndexRecord> | undefined {
  if (buf.length < 12 + hashLen || buf.toString('latin1', 0, 4) !== 'DIRC') return undefined
  const version = buf.readUInt32BE(4)
  if (version < 2 || version > 4) return undefined
  const count = buf.readUInt32BE(8)
  const end = buf.length - hashLen
  const out = new Map<string, IndexRecord>()
  let off = 12
  let prev = ''
  for (let i = 0; i < count; i++) {
    const fixed = 40 + hashLen + 2
    if (off + fixed > end) return undefined
    const mode = buf.readUInt32BE(off + 24)
    const sha = buf.toString('hex', off + 40, off + 40 + hashLen)
    const flags = buf.readUInt16BE(off + 40 + hashLen)
    let p = off + fixed
    let intentToAdd = false
    if (flags & 0x4000) {
      if (version < 3 || p + 2 > end) return undefined
      // Extended flags: skip-worktree (0x4000) changes nothing staged; intent-to-add (0x2000) is kept for the caller.
      intentToAdd = (buf.readUInt16BE(p) & 0x2000) !== 0
      p += 2
    }
    let path: string
    if (version === 4) {
      // The path is the previous one minus its last `strip` bytes, plus a NUL-terminated suffix.
      let c = buf[p++]
      let strip = c & 127
      while (c & 128) {
        c = buf[p++]
        strip = ((strip + 1) << 7) | (c & 127)
      }
      const nul = buf.indexOf(0, p)
      if (nul < 0 || nul >= end) return undefined
      const prevBytes = Buffer.from(prev, 'utf8')
      if (strip > prevBytes.length) return undefined
      path = Buffer.concat([prevBytes.subarray(0, prevBytes.length - strip), buf.subarray(p, nul)]).toString('utf8')
      off = nul + 1
    } else {
      const nul = buf.indexOf(0, p)
      if (nul < 0 || nul >= end) return undefined
      path = buf.toString('utf8', p, nul)
      // Entries are padded with 1-8 NULs to a multiple of 8 bytes.
      off += (nul - off + 8) & ~7
    }
    prev = path
    // A sparse index stores whole directories as entries (mode 040000): let git expand them.
    if ((mode & 0o170000) === 0o040000) return undefined
    const stage = (flags >> 12) & 3
    // Unmerged paths have stages 1-3; "ours" (2) is what a resolved commit most likely holds.
    if (stage !== 0 && stage !== 2) continue
    out.set(path, {path, mode: mode.toString(8), sha, ...(intentToAdd ? {intentToAdd} : {})})
  }
  // Extensions: a split index keeps most entries in another file.
  while (off + 8 <= end) {
    const sig = buf.toString('latin1', off, off + 4)
    if (sig === 'link' || sig === 'sdir') return undefined
    off += 8 + buf.readUInt32BE(off + 4)
  }
  return out
}
