/** The files verify reads: the working tree or the git index (--staged), listed fast and read safely. */
import {execFile, spawn, spawnSync} from 'node:child_process'
import {closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync} from 'node:fs'
import {dirname, isAbsolute, join, resolve, sep} from 'node:path'
import {createHash} from 'node:crypto'
import {UserError} from '../core/errors.js'
import {readGitIndex, type IndexRecord} from './git-index.js'

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
  list(): Promise<string[]>
  /** The git object id of a file's content, when known without reading it (the index, with --staged). */
  blobId(path: string): string | undefined
  /** The git directory (for per-clone state such as the extraction cache), when in git. */
  gitDir(): string | undefined
  /** Contents of these files, in the same order; unreadable ones say why they were skipped. */
  read(paths: readonly string[], maxBytes: number): Promise<FileContent[]>
}

/**
 * The top of the git work tree holding cwd: $GIT_WORK_TREE when it is set and holds cwd (git sets
 * it for hooks of `git --work-tree=...`, and a work tree kept apart from its repository, such as a
 * bare repo's, has no `.git` to find); else the nearest directory upward holding `.git` (a dir, or
 * a file for worktrees); else, with $GIT_DIR set, whatever git says the top is; else undefined.
 */
export function findGitRoot(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const start = resolve(cwd)
  if (env.GIT_WORK_TREE) {
    const top = resolve(env.GIT_WORK_TREE)
    if (start === top || start.startsWith(top.endsWith(sep) ? top : top + sep)) return top
  }
  for (let d = start; ; ) {
    if (existsSync(join(d, '.git'))) return d
    const up = dirname(d)
    if (up === d) break
    d = up
  }
  if (!env.GIT_DIR) return undefined
  const r = spawnSync('git', ['rev-parse', '--show-toplevel'], {cwd: start, env, encoding: 'utf8'})
  const top = r.status === 0 ? r.stdout.replace(/\n$/, '') : ''
  return top ? resolve(top) : undefined
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

/** Run git without blocking, so several git processes (and module loading) overlap. */
export function gitAsync(root: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile('git', args, {cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024}, (err, stdout, stderr) => {
      if (!err) return res(stdout)
      const code = (err as NodeJS.ErrnoException).code
      if (typeof code === 'string') rej(new UserError(`could not run git: ${err.message}`, {code: 'config', hint: 'install git, or run outside a git repo without --staged'}))
      else rej(new UserError(`git ${args[0]} failed: ${String(stderr).trim().split('\n')[0]}`, {code: 'config'}))
    })
  })
}

/** Whether the last commit holds this repo-relative path; false on a branch with no commit yet. */
export function committed(root: string, path: string): Promise<boolean> {
  return new Promise((res, rej) => {
    execFile('git', ['rev-parse', '--verify', '--quiet', `HEAD:${path}`], {cwd: root, encoding: 'utf8'}, (err) => {
      if (!err) return res(true)
      // --quiet: a path or HEAD that does not resolve is exit 1 and no output; only a git that cannot run is an error.
      if (typeof (err as NodeJS.ErrnoException).code === 'string') rej(new UserError(`could not run git: ${err.message}`, {code: 'config', hint: 'install git, or run outside a git repo without --staged'}))
      else res(false)
    })
  })
}

export function git(root: string, args: string[], input?: string): string {
  const r = spawnSync('git', args, {cwd: root, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024})
  if (r.error) throw new UserError(`could not run git: ${r.error.message}`, {code: 'config', hint: 'install git, or run outside a git repo without --staged'})
  if (r.status !== 0) throw new UserError(`git ${args[0]} failed: ${r.stderr.trim().split('\n')[0]}`, {code: 'config'})
  return r.stdout
}

/** The gitignore rule that covers a repo-relative path (`.gitignore:1: .steme/`), when one does and the file is not tracked. */
export function ignoredBy(root: string, rel: string): string | undefined {
  const r = spawnSync('git', ['check-ignore', '-v', '--', rel], {cwd: root, encoding: 'utf8'})
  const m = r.status === 0 ? /^(.*?):(\d+):(.*)\t/.exec(r.stdout) : null
  // With -v, git also names a rule that takes the path back (`!.steme/claims.toml`, exit 0 all the same): that one un-ignores it.
  return m && !m[3].startsWith('!') ? `${m[1]}:${m[2]}: ${m[3]}` : undefined
}

/**
 * How to stage a file that is not staged: `git add <path>`, or, when a gitignore rule covers it (a
 * `.steme/` line is a common reflex), `git add -f <path>` and the rule that makes plain `git add` refuse.
 */
export function howToStage(root: string, rel: string): string {
  const rule = ignoredBy(root, rel)
  if (!rule) return `\`git add ${rel}\` to commit it`
  return `\`git add -f ${rel}\` to commit it: git ignores it (${rule}), so plain \`git add\` refuses; to keep only steme's database out of git, narrow that rule to .steme/store.duckdb*`
}

/** The git directory of a work tree: $GIT_DIR (set for hooks), `.git`, or where a `.git` file points (worktrees). */
export function gitDirOf(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GIT_DIR) return resolve(env.GIT_DIR)
  const dotGit = join(root, '.git')
  try {
    if (statSync(dotGit).isDirectory()) return dotGit
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))
    return m ? resolve(root, m[1].trim()) : undefined
  } catch {
    return undefined
  }
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

const realDirs = new Map<string, string>()
/** Is this directory, with symbolic links resolved, inside the (resolved) repo root? Cached per directory. */
function insideReal(realRoot: string, dir: string): boolean {
  let real = realDirs.get(dir)
  if (real === undefined) realDirs.set(dir, (real = realpathSync.native(dir)))
  return real === realRoot || real.startsWith(realRoot + sep)
}

const ESCAPES = /(^|\/)\.\.(\/|$)/
// O_NONBLOCK: opening a named pipe (a FIFO some tool left in the tree) returns at once, and fstat
// then refuses it as no regular file, where a blocking open would wait for a writer forever. It
// changes nothing for regular files.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)

/**
 * Read one working-tree file safely: no symlinks, nothing resolving outside the repo, bounded size, no binaries.
 * With `same`, content it refuses (or a file too large to check) is `unreadable`, so the caller reads the index's version.
 */
function readWorkTree(root: string, realRoot: string, path: string, maxBytes: number, same?: (data: Buffer) => boolean): FileContent {
  if (ESCAPES.test(path) || isAbsolute(path)) return {path, skipped: 'outside', detail: 'is outside the repo'}
  const abs = root + sep + path
  let fd: number | undefined
  try {
    if (!insideReal(realRoot, dirname(abs))) return {path, skipped: 'outside', detail: 'resolves outside the repo through a symbolic link'}
    try {
      // O_NOFOLLOW: a symbolic link fails to open (ELOOP) instead of being followed out of the repo.
      fd = openSync(abs, OPEN_FLAGS)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP' || lstatSync(abs, {throwIfNoEntry: false})?.isSymbolicLink()) {
        return {path, skipped: 'symlink', detail: 'is a symbolic link (not followed, so no claim reads outside the repo)'}
      }
      throw e
    }
    const st = fstatSync(fd)
    if (!st.isFile()) return {path, skipped: 'unreadable', detail: 'is not a regular file'}
    if (st.size > maxBytes && same) return {path, skipped: 'unreadable', detail: 'is too large to compare with the index'}
    if (st.size > maxBytes) return {path, skipped: 'too_large', detail: `is ${st.size} bytes, over the ${maxBytes}-byte bound (settings.max_file_bytes)`}
    const buf = Buffer.allocUnsafe(st.size)
    let got = 0
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got)
      if (n === 0) break
      got += n
    }
    const data = buf.subarray(0, got)
    if (same && !same(data)) return {path, skipped: 'unreadable', detail: 'differs from the index'}
    if (isBinary(data)) return {path, skipped: 'binary', detail: 'is binary'}
    return {path, text: data.toString('utf8')}
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return {path, skipped: 'unreadable', detail: code === 'ENOENT' ? 'is deleted in the working tree' : `cannot be read (${code ?? (e as Error).message})`}
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

class WorkTreeFiles implements RepoFiles {
  readonly staged = false
  private realRoot: string
  constructor(
    readonly root: string,
    readonly git: boolean,
  ) {
    this.realRoot = realpathSync.native(root)
  }

  async list(): Promise<string[]> {
    if (this.git) {
      const out = await gitAsync(this.root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
      return [...new Set(out.split('\0').filter(Boolean))]
    }
    return walk(this.root)
  }

  async read(paths: readonly string[], maxBytes: number): Promise<FileContent[]> {
    return paths.map((p) => readWorkTree(this.root, this.realRoot, p, maxBytes))
  }

  blobId(): string | undefined {
    return undefined
  }

  gitDir(): string | undefined {
    return this.git ? gitDirOf(this.root) : undefined
  }
}

// Outside git nothing says what is ignored: skip VCS data, dependencies and steme's own database and state.
const SKIP_DIRS = new Set(['.git', 'node_modules', '.steme'])

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

class IndexFiles implements RepoFiles {
  readonly staged = true
  readonly git = true
  private entries = new Map<string, IndexRecord>()
  private listed = false
  private realRoot?: string
  /** Blob ids of work-tree contents, to tell whether a file still holds what was staged. */
  private hashBlob: (data: Buffer) => string = (data) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')
  constructor(readonly root: string) {}

  async list(): Promise<string[]> {
    // The index is read in-process (no git process on the hook's path); git lists it when this reader cannot.
    const gitDir = this.gitDir()
    const idx = gitDir ? readGitIndex(gitDir) : undefined
    if (idx) {
      this.entries = idx.entries
      this.hashBlob = idx.blobId
    } else {
      this.entries = parseLsFiles(await gitAsync(this.root, ['ls-files', '-s', '-z', '--debug']))
      if (this.entries.size && [...this.entries.values()][0].sha.length === 64) this.hashBlob = (data) => createHash('sha256').update(`blob ${data.length}\0`).update(data).digest('hex')
    }
    // `git add -N` stages an empty placeholder that `git commit` leaves out: not part of what is committed.
    for (const [p, e] of this.entries) if (e.intentToAdd) this.entries.delete(p)
    this.listed = true
    return [...this.entries.keys()]
  }

  blobId(path: string): string | undefined {
    const e = this.entries.get(path)
    return e && (e.mode === '100644' || e.mode === '100755') ? e.sha : undefined
  }

  gitDir(): string | undefined {
    return gitDirOf(this.root)
  }

  async read(paths: readonly string[], maxBytes: number): Promise<FileContent[]> {
    if (!this.listed) await this.list()
    const result = new Map<string, FileContent>()
    const wanted: string[] = []
    for (const p of paths) {
      const e = this.entries.get(p)
      if (!e) result.set(p, {path: p, skipped: 'unreadable', detail: 'is not in the index'})
      else if (e.mode === '120000') result.set(p, {path: p, skipped: 'symlink', detail: 'is a symbolic link (not followed, so no claim reads outside the repo)'})
      else if (e.mode === '160000') result.set(p, {path: p, skipped: 'submodule', detail: 'is a submodule'})
      else wanted.push(p)
    }
    // A work-tree file whose bytes hash to the staged blob id holds exactly what is staged; reading it
    // there is several times faster than inflating loose objects. Only the rest comes out of the object
    // store (files changed since staging, and content that clean filters such as CRLF or LFS rewrite).
    const fromStore: string[] = []
    if (wanted.length) {
      this.realRoot ??= realpathSync.native(this.root)
      for (const p of wanted) {
        const e = this.entries.get(p)!
        if (e.mode !== '100644' && e.mode !== '100755') {
          fromStore.push(p)
          continue
        }
        const c = readWorkTree(this.root, this.realRoot, p, maxBytes, (data) => this.hashBlob(data) === e.sha)
        if ('skipped' in c && c.skipped === 'unreadable') fromStore.push(p)
        else result.set(p, c)
      }
    }
    if (fromStore.length) {
      const blobs = await catFile(this.root, fromStore.map((p) => this.entries.get(p)!.sha), maxBytes)
      fromStore.forEach((p, i) => {
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

/** In-memory index flag of an intent-to-add entry, as `git ls-files --debug` prints it (CE_INTENT_TO_ADD). */
const CE_INTENT_TO_ADD = 0x20000000
const DEBUG_LINES = /^(?:[^\n]*\n){4} {2}size: \d+\tflags: ([0-9a-f]+)\n/

/**
 * `git ls-files -s -z --debug`: each `<mode> <sha> <stage>\t<path>` and its NUL are followed by five
 * debug lines, the last `  size: <n>\tflags: <hex>`, the only place git prints intent-to-add.
 */
function parseLsFiles(out: string): Map<string, IndexRecord> {
  const entries = new Map<string, IndexRecord>()
  let last: IndexRecord | undefined
  const pieces = out.split('\0')
  for (let i = 0; i < pieces.length; i++) {
    let rec = pieces[i]
    // Every piece but the first starts with the debug lines of the entry before it.
    const debug = i > 0 ? DEBUG_LINES.exec(rec) : null
    if (debug) {
      if (last && parseInt(debug[1], 16) & CE_INTENT_TO_ADD) last.intentToAdd = true
      rec = rec.slice(debug[0].length)
    }
    last = undefined
    if (!rec) continue
    const tab = rec.indexOf('\t')
    const [mode, sha, stage] = rec.slice(0, tab).split(' ')
    // Unmerged paths have stages 1-3; "ours" (2) is what a resolved commit most likely holds.
    if (stage !== '0' && stage !== '2') continue
    const path = rec.slice(tab + 1)
    entries.set(path, (last = {path, mode, sha}))
  }
  return entries
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
