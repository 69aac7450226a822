/** The files verify reads: the working tree or the git index (--staged), listed fast and read safely. */
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, existsSync, fstatSync, lstatSync, openSync, readSync, readdirSync, realpathSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {UserError} from '../core/errors.js'

export type SkipReason = 'binary' | 'too_large' | 'symlink' | 'outside' | 'unreadable' | 'submodule'

export type FileContent = {path: string; text: string} | {path: string; skipped: SkipReason; detail: string}

export interface RepoFiles {
  /** Absolute repo root. */
  root: string
  /** A git work tree (else a plain directory walked on disk). */
  git: boolean
  /** Reading the git index rather than the working tree. */
  staged: boolean
  /** Every candidate file, repo-relative with forward slashes. */
  list(): string[]
  /** Contents of these files, in the same order; unreadable ones say why they were skipped. */
  read(paths: readonly string[], maxBytes: number): Promise<FileContent[]>
}

/** The nearest directory upward holding `.git` (a dir, or a file for worktrees), else undefined. */
export function findGitRoot(cwd: string): string | undefined {
  let d = resolve(cwd)
  for (;;) {
    if (existsSync(join(d, '.git'))) return d
    const up = dirname(d)
    if (up === d) return undefined
    d = up
  }
}

/** The nearest directory upward holding `.steme/`, else undefined. */
export function findStemeRoot(cwd: string): string | undefined {
  let d = resolve(cwd)
  for (;;) {
    if (existsSync(join(d, '.steme'))) return d
    const up = dirname(d)
    if (up === d) return undefined
    d = up
  }
}

export function git(root: string, args: string[], input?: string): string {
  const r = spawnSync('git', args, {cwd: root, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024})
  if (r.error) throw new UserError(`could not run git: ${r.error.message}`, {code: 'config', hint: 'install git, or run outside a git repo without --staged'})
  if (r.status !== 0) throw new UserError(`git ${args[0]} failed: ${r.stderr.trim().split('\n')[0]}`, {code: 'config'})
  return r.stdout
}

const NUL_PROBE = 8000

function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, NUL_PROBE).includes(0)
}

/** Open the repo's files: the working tree (git ls-files, or a walk outside git) or the index. */
export function openRepo(root: string, opts: {staged: boolean}): RepoFiles {
  const gitRoot = findGitRoot(root)
  const isGit = gitRoot !== undefined && resolve(gitRoot) === resolve(root)
  if (opts.staged && !isGit) throw new UserError(`--staged needs a git repository, and ${root} is not the top of one`, {code: 'usage', hint: 'run it inside a git work tree, or drop --staged'})
  return opts.staged ? new IndexFiles(root) : new WorkTreeFiles(root, isGit)
}

class WorkTreeFiles implements RepoFiles {
  readonly staged = false
  private realRoot: string
  constructor(
    readonly root: string,
    readonly git: boolean,
  ) {
    this.realRoot = realpathSync(root)
  }

  list(): string[] {
    if (this.git) {
      const out = git(this.root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
      return [...new Set(out.split('\0').filter(Boolean))]
    }
    return walk(this.root)
  }

  async read(paths: readonly string[], maxBytes: number): Promise<FileContent[]> {
    return paths.map((p) => this.readOne(p, maxBytes))
  }

  private readOne(path: string, maxBytes: number): FileContent {
    const abs = resolve(this.root, path)
    const rel = relative(this.root, abs)
    if (rel.startsWith('..') || rel === '') return {path, skipped: 'outside', detail: 'is outside the repo'}
    let fd: number | undefined
    try {
      if (lstatSync(abs).isSymbolicLink()) return {path, skipped: 'symlink', detail: 'is a symbolic link (not followed, so no claim reads outside the repo)'}
      const real = realpathSync(abs)
      if (!(real + sep).startsWith(this.realRoot + sep)) return {path, skipped: 'outside', detail: 'resolves outside the repo through a symbolic link'}
      fd = openSync(abs, 'r')
      const size = fstatSync(fd).size
      if (size > maxBytes) return {path, skipped: 'too_large', detail: `is ${size} bytes, over the ${maxBytes}-byte bound (settings.max_file_bytes)`}
      const buf = Buffer.alloc(size)
      let got = 0
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, got)
        if (n === 0) break
        got += n
      }
      const data = buf.subarray(0, got)
      if (isBinary(data)) return {path, skipped: 'binary', detail: 'is binary'}
      return {path, text: data.toString('utf8')}
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      return {path, skipped: 'unreadable', detail: code === 'ENOENT' ? 'is deleted in the working tree' : `cannot be read (${code ?? (e as Error).message})`}
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }
}

const SKIP_DIRS = new Set(['.git', 'node_modules'])

function walk(root: string): string[] {
  const out: string[] = []
  const visit = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, {withFileTypes: true})) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) visit(join(dir, e.name), rel)
      } else out.push(rel)
    }
  }
  visit(root, '')
  return out
}

interface IndexEntry {
  mode: string
  sha: string
}

class IndexFiles implements RepoFiles {
  readonly staged = true
  readonly git = true
  private entries = new Map<string, IndexEntry>()
  constructor(readonly root: string) {}

  list(): string[] {
    const out = git(this.root, ['ls-files', '-s', '-z'])
    for (const rec of out.split('\0')) {
      if (!rec) continue
      const tab = rec.indexOf('\t')
      const [mode, sha, stage] = rec.slice(0, tab).split(' ')
      // Unmerged paths have stages 1-3; "ours" (2) is what a resolved commit most likely holds.
      if (stage !== '0' && stage !== '2') continue
      this.entries.set(rec.slice(tab + 1), {mode, sha})
    }
    return [...this.entries.keys()]
  }

  async read(paths: readonly string[], maxBytes: number): Promise<FileContent[]> {
    if (this.entries.size === 0) this.list()
    const result = new Map<string, FileContent>()
    const wanted: string[] = []
    for (const p of paths) {
      const e = this.entries.get(p)
      if (!e) result.set(p, {path: p, skipped: 'unreadable', detail: 'is not in the index'})
      else if (e.mode === '120000') result.set(p, {path: p, skipped: 'symlink', detail: 'is a symbolic link (not followed, so no claim reads outside the repo)'})
      else if (e.mode === '160000') result.set(p, {path: p, skipped: 'submodule', detail: 'is a submodule'})
      else wanted.push(p)
    }
    if (wanted.length) {
      const blobs = await catFile(this.root, wanted.map((p) => this.entries.get(p)!.sha), maxBytes)
      wanted.forEach((p, i) => {
        const b = blobs[i]
        if (b.size > maxBytes) result.set(p, {path: p, skipped: 'too_large', detail: `is ${b.size} bytes, over the ${maxBytes}-byte bound (settings.max_file_bytes)`})
        else if (!b.data) result.set(p, {path: p, skipped: 'unreadable', detail: 'is missing from the object store'})
        else if (isBinary(b.data)) result.set(p, {path: p, skipped: 'binary', detail: 'is binary'})
        else result.set(p, {path: p, text: b.data.toString('utf8')})
      })
    }
    return paths.map((p) => result.get(p)!)
  }
}

interface Blob {
  size: number
  /** The content, absent when the object is missing or over the bound (its bytes are read and dropped). */
  data?: Buffer
}

/** Stream blobs out of one `git cat-file --batch`, keeping at most maxBytes of each in memory. */
function catFile(root: string, shas: readonly string[], maxBytes: number): Promise<Blob[]> {
  return new Promise((resolveP, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], {cwd: root, stdio: ['pipe', 'pipe', 'pipe']})
    const out: Blob[] = []
    let pending: Buffer = Buffer.alloc(0)
    let need = -1 // bytes of the current object still to consume (content + trailing LF); -1 = reading a header
    let cur: {size: number; parts: Buffer[] | undefined} | undefined
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (e) => reject(new UserError(`could not run git: ${e.message}`, {code: 'config'})))
    child.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      for (;;) {
        if (need < 0) {
          const nl = pending.indexOf(10)
          if (nl < 0) return
          const header = pending.subarray(0, nl).toString()
          pending = pending.subarray(nl + 1)
          const parts = header.split(' ')
          if (parts[1] === 'missing' || parts.length < 3) {
            out.push({size: 0})
            continue
          }
          const size = Number(parts[2])
          cur = {size, parts: size <= maxBytes ? [] : undefined}
          need = size + 1
        }
        if (pending.length === 0) return
        const take = Math.min(need, pending.length)
        const piece = pending.subarray(0, take)
        pending = pending.subarray(take)
        need -= take
        if (cur!.parts) cur!.parts.push(need === 0 ? piece.subarray(0, piece.length - 1) : piece)
        if (need === 0) {
          out.push({size: cur!.size, data: cur!.parts ? Buffer.concat(cur!.parts).subarray(0, cur!.size) : undefined})
          cur = undefined
          need = -1
        }
      }
    })
    child.on('close', (code) => {
      if (code !== 0 || out.length !== shas.length) reject(new UserError(`git cat-file failed: ${stderr.trim() || `exit ${code}`}`, {code: 'config'}))
      else resolveP(out)
    })
    child.stdin.end(shas.join('\n') + '\n')
  })
}
