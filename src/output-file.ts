/** A file named by a flag, written whole or not at all: into a temporary file beside it, renamed over it when complete. */
import {closeSync, fchmodSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, type Stats} from 'node:fs'
import {open, rename, unlink, type FileHandle} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {UserError} from './core/errors.js'
import {cleanupOnExit} from './exit-cleanup.js'
import {StdoutClosed} from './stdout.js'

/** Receives the text to write; resolves once it is written. */
export type Write = (chunk: string) => Promise<void>

export interface OutputFile {
  /** The path as the user gave it, for messages. */
  readonly path: string
  /**
   * Run `produce` with a writer into the file. The file is replaced only when `produce` resolves;
   * if it throws, or the process is interrupted (SIGINT, SIGTERM, SIGHUP), the file is left as it
   * was and the temporary file is removed.
   */
  write<T>(produce: (write: Write) => Promise<T>): Promise<T>
  /**
   * Refuse (a UserError) when the file would replace one of `inputs`, files the command reads
   * or keeps (the store, the claims file): an easy slip with tab completion, and a lost file.
   */
  notOver(inputs: readonly string[], what: string): void
}

let made = 0
/**
 * A temporary name beside target: a dot-name ending .tmp, so it is plainly not the output. Unique
 * per process and call; opened with 'wx', so a name taken by anything else fails, never clobbers.
 * (No node:crypto here: the keystore loads this module on every command's path.)
 */
const tmpName = (target: string): string => join(dirname(target), `.${basename(target)}.${process.pid}-${Date.now().toString(36)}-${made++}.tmp`)

/**
 * Check the path a flag names before anything is opened or computed: its directory must exist, and
 * it must not be a directory. Throws a UserError naming the flag; opens nothing.
 */
export function outputFile(path: string, flag: string): OutputFile {
  const abs = resolve(path)
  let st: Stats | undefined
  try {
    st = statSync(abs)
  } catch (e) {
    if (code(e) !== 'ENOENT') throw pathError(e, path, flag)
  }
  if (st?.isDirectory()) {
    throw new UserError(`${flag} ${path} is a directory`, {hint: `name a file to write, such as ${join(path, 'out')}`})
  }
  // A device or pipe (/dev/stdout, a FIFO) is written in place: it cannot be replaced by a rename.
  if (st && !st.isFile()) return {path, write: (produce) => writeDirect(abs, path, flag, produce), notOver: () => undefined}
  // Through a symlink, replace the file it points at and keep the link.
  const target = st ? realpathSync(abs) : abs
  const dir = dirname(target)
  if (!st) {
    let d: Stats
    try {
      d = statSync(dir)
    } catch (e) {
      if (code(e) === 'ENOENT') {
        const shown = dirname(path)
        throw new UserError(`${flag} ${path}: the directory ${shown} does not exist`, {hint: `create it first (mkdir -p ${shown}) or write to a file in an existing directory`})
      }
      throw pathError(e, path, flag)
    }
    if (!d.isDirectory()) throw new UserError(`${flag} ${path}: ${dirname(path)} is not a directory`, {hint: 'pass the path of a file in an existing directory'})
  }
  return {
    path,
    write: (produce) => writeReplacing(target, st, path, flag, produce),
    notOver(inputs, what) {
      for (const input of inputs) {
        let real: string
        try {
          real = realpathSync(input)
        } catch {
          continue // not there: nothing to lose
        }
        if (real === target) throw new UserError(`${flag} ${path} is ${what}: writing there would replace it`, {hint: `give ${flag} another file`})
      }
    },
  }
}

async function writeReplacing<T>(target: string, existing: Stats | undefined, path: string, flag: string, produce: (write: Write) => Promise<T>): Promise<T> {
  // Same directory as the target, so the rename is atomic; a dot-name and .tmp, so it is plainly not the output.
  const tmp = tmpName(target)
  let done = false
  // Removed should the process end while it is written (Ctrl-C, SIGTERM, a hang-up, process.exit).
  const unhook = cleanupOnExit(() => {
    if (!done) unlinkSync(tmp)
  })
  let fh: FileHandle | undefined
  try {
    // New file: the mode a plain file gets here (0644 less the umask). Existing file: its own mode and, where allowed, owner.
    fh = await named(open(tmp, 'wx', existing ? existing.mode & 0o777 : 0o644), path, flag)
    if (existing) {
      await fh.chmod(existing.mode & 0o777)
      if (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()) await fh.chown(existing.uid, existing.gid).catch(() => undefined)
    }
    const handle = fh
    const result = await produce(async (chunk) => {
      await named(writeAll(handle, chunk), path, flag)
    })
    await named(fh.sync(), path, flag)
    await fh.close()
    fh = undefined
    await named(rename(tmp, target), path, flag)
    done = true
    return result
  } finally {
    await fh?.close().catch(() => undefined)
    if (!done) await unlink(tmp).catch(() => undefined)
    done = true
    unhook()
  }
}

async function writeDirect<T>(abs: string, path: string, flag: string, produce: (write: Write) => Promise<T>): Promise<T> {
  const fh = await named(open(abs, 'w'), path, flag)
  try {
    return await produce(async (chunk) => {
      try {
        await writeAll(fh, chunk)
      } catch (e) {
        // A pipe whose reader stopped (-o /dev/stdout | head): the command ends quietly, as on stdout.
        if (code(e) === 'EPIPE') throw new StdoutClosed()
        throw pathError(e, path, flag)
      }
    })
  } finally {
    await fh.close().catch(() => undefined)
  }
}

/** fs writes may be partial (a pipe, a full disk): write until every byte is out. */
async function writeAll(fh: FileHandle, chunk: string): Promise<void> {
  const buf = Buffer.from(chunk)
  for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off)).bytesWritten
}

async function named<T>(p: Promise<T>, path: string, flag: string): Promise<T> {
  try {
    return await p
  } catch (e) {
    throw pathError(e, path, flag)
  }
}

/**
 * Replace a small file whole, or leave it as it was: the text goes into a temporary file beside
 * it, is synced, and is renamed over it, so a crash, a full disk or a second writer never leaves
 * it half written. Through a symlink, the file it points at is replaced. The mode is `mode` when
 * given, else the existing file's, else a new file's default (0666 less the umask).
 */
export function replaceFileSync(path: string, text: string, mode?: number): void {
  let target = path
  let keep = mode
  let st: Stats | undefined
  try {
    target = realpathSync(path)
    st = statSync(target)
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e
  }
  // As writing it in place would fail, naming the path (not the temporary file the rename would name).
  if (st?.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), {code: 'EISDIR', syscall: 'open', path})
  if (st) keep ??= st.mode & 0o777
  const tmp = tmpName(target)
  let fd: number | undefined
  try {
    fd = openSync(tmp, 'wx', keep ?? 0o666)
    // The umask narrows the mode given at creation; a mode asked for, or kept, is set exactly.
    if (keep !== undefined) fchmodSync(fd, keep)
    writeFileSync(fd, text)
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    renameSync(tmp, target)
  } catch (e) {
    if (fd !== undefined) closeSync(fd)
    rmSync(tmp, {force: true})
    // A system error names the file the caller asked for, not the temporary one.
    const err = e as NodeJS.ErrnoException & {dest?: string}
    if (err.path === tmp) {
      err.message = err.message.replace(` '${tmp}' -> '${target}'`, ` '${path}'`).replace(` '${tmp}'`, ` '${path}'`)
      err.path = path
      delete err.dest
    }
    throw err
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code
}

/** A system error on the file a flag names, as a UserError that says which flag and why. */
function pathError(e: unknown, path: string, flag: string): unknown {
  if (e instanceof UserError) return e
  const c = code(e)
  const reason = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')
  switch (c) {
    case 'ENOSPC':
      return new UserError(`${flag} ${path}: no space left on the device; the file was left as it was`, {exit: 1, cause: e, hint: 'free some space, or write to another disk'})
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new UserError(`${flag} ${path}: cannot write there (${reason})`, {exit: 1, cause: e, hint: 'pass a path you can write to'})
    case 'ENXIO':
      // /dev/stdout when stdout is a socket (a process spawned by Node, some service managers).
      return new UserError(`${flag} ${path}: cannot open it (${reason})`, {cause: e, hint: `leave out ${flag}, or pass ${flag} -, to write to stdout`})
    case 'ENOTDIR':
      return new UserError(`${flag} ${path}: a part of the path is not a directory`, {cause: e, hint: 'pass the path of a file in an existing directory'})
    case 'ENAMETOOLONG':
    case 'ELOOP':
    case 'EISDIR':
    case 'ENOENT':
      return new UserError(`${flag} ${path}: ${reason}`, {cause: e, hint: 'pass the path of a file in an existing directory'})
    default:
      return e
  }
}
