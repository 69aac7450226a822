import {Args, Flags} from '@oclif/core'
import {createReadStream, statSync} from 'node:fs'
import {StemeCommand} from '../command.js'
import {stdoutDone} from '../stdout.js'
import {BugError, UserError} from '../core/errors.js'
import {redactUrls} from '../core/redact.js'
import {storeIoFailure} from '../core/render-error.js'
import {KeyStore} from '../keystore.js'
import {doneBeforeFailure, ingestOp, type IngestDone, type IngestFormat, type IngestSummary} from '../ops/ingest.js'
import {threadsFlag} from '../threads-flag.js'
import {visible} from '../ui/table.js'
import {plural, shellPath, shellWord} from '../core/words.js'

export default class Ingest extends StemeCommand {
  static summary = 'Load records from NDJSON, a JSON array or CSV (file or stdin)'
  static description = `Signed records (with "sig") are verified and kept exactly as they are; plain facts
({"subject","predicate","value",...} without agent/hlc/id/sig) are signed with your key.
Batches commit as they go. A bad line is reported with its line number and reason; the good
lines are kept. Exit 1 if anything was rejected. Signed records already stored are skipped,
but plain facts are signed anew each time (with a new clock stamp, so a new id): ingesting
them again stores them again. To retry rejected plain facts, ingest only those lines, fixed.
An ingest that fails part way (a store's server gone, a full disk, a verify worker that died)
says what it had stored, and for NDJSON the line to go on from; with --json, as "progress" in
the error document.

CSV needs a header row of record fields, e.g. subject,predicate,value[,confidence,source,epoch,valid_from,valid_to]
(kind,target,weight for votes, and so on; any case, each name once; a header naming anything that is
not a record field is refused before a row is read).

A first line that is a { alone starts one JSON document over many lines: one record, or
{"records": [...]} as \`steme log --json\` writes it (steme log --json | steme ingest -), or objects
one after another, as \`jq .\` writes records.`
  static examples = ['<%= config.bin %> ingest facts.ndjson', '<%= config.bin %> ingest - < export.ndjson', '<%= config.bin %> ingest readings.csv --format csv']
  static args = {file: Args.string({description: 'file to read, or - for stdin (the default when records are piped in)', ignoreStdin: true})}
  static flags = {
    format: Flags.string({description: 'input format (auto: by the file extension, .ndjson/.jsonl, .json or .csv; else by the first line)', options: ['auto', 'ndjson', 'json', 'csv'], default: 'auto'}),
    threads: threadsFlag('verification worker threads (default: one per core)', {min: 0}),
    key: StemeCommand.keyFlag('the key that signs plain facts'),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<IngestSummary> {
    const {args: given, flags} = await this.parse(Ingest)
    // No file on a terminal would wait, silently, for records typed by hand: say what to give.
    if (given.file === undefined && process.stdin.isTTY) {
      throw new UserError('no input: name the file to ingest', {hint: 'steme ingest <file.ndjson|.json|.csv>, or pipe records in (cat facts.ndjson | steme ingest -); `steme ingest -` reads what you type, to Ctrl-D'})
    }
    const args = {file: given.file ?? '-'}
    const name = args.file === '-' ? 'stdin' : args.file
    if (args.file !== '-') checkInputFile(args.file)
    // A key named on the command line that cannot be loaded is a usage error now, not a rejection
    // of every plain fact later (without --key, a missing key only matters if plain facts come).
    if (flags.key !== undefined) new KeyStore().load(flags.key)
    const format = flags.format as IngestFormat
    const t = await this.target(flags, {keyName: flags.key})
    // The command that goes on from a stop or a failure must reach the same store and sign with the same key.
    const same = sameRun(flags)
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    const input = args.file === '-' ? process.stdin : createReadStream(args.file, {highWaterMark: 1 << 20})
    const progress = await this.progress('ingest')
    // Ctrl-C (or SIGTERM) stops the reading; what was read is still stored and the summary says
    // where it stopped. A second one ends the process at once (the handlers are gone by then).
    const stop = this.stopOnSignal(progress, 'storing the lines already read')
    let res: IngestSummary
    try {
      res = await ingestOp(deps, {input, format, name, threads: flags.threads, signal: stop.signal, onProgress: (p) => progress?.update({...p})})
    } catch (e) {
      // Through a daemon a batch goes in several requests, some of which may be stored when one fails:
      // the client's own error says what the daemon had stored, and no line can be named.
      const done = t.rt ? doneBeforeFailure(e) : undefined
      throw done ? failedPartWay(e, done, {file: args.file, name, store: deps.store.location, same}) : e
    } finally {
      stop.release()
    }
    for (const e of res.errors) this.note(`${name}:${e.line}: rejected${e.id ? ` ${e.id.slice(0, 12)}` : ''}: ${visible(e.reason)}`)
    if (res.rejected > res.errors.length) this.note(`... and ${res.rejected - res.errors.length} more rejected lines`)
    if (res.rejected > 0) this.note(retryHint(res))
    // Plain facts are signed anew on every run: a script that reran the ingest on a failed print of
    // this summary would store each of them twice.
    if (res.added > 0) {
      stdoutDone(
        `The ${plural(res.added, 'record')} added ${res.added === 1 ? 'was' : 'were'} stored all the same`,
        'do not ingest the same input again for this: plain facts in it would be stored a second time, with new ids; `steme log` shows what was stored',
      )
    }
    this.out(`${res.added} added, ${res.present} already present, ${res.rejected} rejected (${plural(res.lines, `${res.format} record`)} read)`)
    if (res.rejected > 0) process.exitCode = 1
    if (res.interrupted) {
      input.destroy() // a pipe still open would keep the process alive
      const at = res.interrupted.afterLine
      const csv = res.format === 'csv'
      const file = shellPath(args.file)
      const rest =
        args.file === '-'
          ? `feed the input from line ${at! + 1}${csv ? ', after its header row,' : ''} to \`steme ingest --format ${res.format}${same} -\``
          : `${csv ? `(head -n 1 ${file}; tail -n +${at! + 1} ${file})` : `tail -n +${at! + 1} ${file}`} | steme ingest --format ${res.format}${same} -`
      this.note(
        res.interrupted.unread
          ? `interrupted while reading ${name}: nothing from it was stored, as a JSON array or document is stored only once read whole; to store it, ingest it again`
          : at === undefined
          ? `interrupted: the records above were stored; the rest of ${name} was not read`
          : `interrupted after line ${at} of ${name}: every line up to it was ingested (as counted above), none after it; to go on: ${rest}`,
      )
      process.exitCode = stop.caught() === 'SIGTERM' ? 143 : 130
    }
    return res
  }
}

/**
 * An ingest that failed part way, said with what it had done: in the hint, and as `progress` in the
 * --json error document, so a script can tell what a rerun of plain facts would store a second time.
 * A store that could not be written (a full disk) is said as such, not as a bug. A bug (a verify
 * worker that died) stays a bug, with the same progress and the same way to go on.
 */
function failedPartWay(e: unknown, done: IngestDone, at: {file: string; name: string; store: string; same: string}): unknown {
  let base: UserError | undefined
  if (e instanceof UserError) base = e
  else {
    const io = storeIoFailure(e)
    if (io) {
      const fix = io === 'no_space' ? 'free some space on its disk' : io === 'forbidden' ? 'get write permission on the store and its directory' : 'fix what kept it from writing its files (the reason above says)'
      base = new UserError(`the store ${at.store} could not be written: ${(e as Error).message}`, {
        code: io === 'no_space' ? 'no_space' : io === 'forbidden' ? 'forbidden' : 'integrity',
        exit: 1,
        hint: `${fix}, then check the store with \`steme fsck\`; the batches committed before stay, the one being written was not stored`,
        cause: e,
      })
    }
  }
  let hint = base?.hint
  if (done.added + done.present + done.rejected > 0 || base !== e) {
    const counts = `before the failure: ${done.added} added, ${done.present} already present, ${done.rejected} rejected`
    const rest =
      done.lastLine === undefined
        ? ''
        : at.file === '-'
          ? `; every line up to ${done.lastLine} of ${at.name} was stored or rejected, and none after it stored: to go on, feed the input from line ${done.lastLine + 1} to \`steme ingest --format ndjson${at.same} -\``
          : `; every line up to ${done.lastLine} of ${at.name} was stored or rejected, and none after it stored: to go on, tail -n +${done.lastLine + 1} ${shellPath(at.file)} | steme ingest --format ndjson${at.same} -`
    hint = `${counts}${rest}${hint ? `; ${hint}` : ''}`
  }
  if (!base) {
    const bug = new BugError(e instanceof Error ? e.message : String(e), {cause: e, hint, details: {progress: done}})
    // STEME_DEBUG shows where the bug was, not where it was wrapped.
    if (e instanceof Error && e.stack) bug.stack = e.stack
    return bug
  }
  return new UserError(base.message, {code: base.code, exit: base.exit, hint, cause: base.cause ?? base, ...(base.at ? {at: base.at} : {}), details: {...base.details, progress: done}})
}

/**
 * The options of this run that a command going on from it must repeat, as typed: the store, the key
 * that signs plain facts, the daemon. Without them it would store into whichever store is found from
 * where it runs, signed by another key. A password in a URL shows as *** (to be filled in), as in errors.
 */
function sameRun(flags: {store?: string; key?: string; remote?: string}): string {
  let out = ''
  if (flags.store !== undefined) out += ` --store ${shellWord(redactUrls(flags.store))}`
  if (flags.key !== undefined) out += ` --key ${shellWord(flags.key)}`
  if (flags.remote !== undefined) out += ` --remote ${shellWord(redactUrls(flags.remote))}`
  return out
}

/** The file argument must be a file that exists: said here, before the store opens, rather than as a failed read. */
function checkInputFile(file: string): void {
  const hint = 'pass a path to an NDJSON, JSON or CSV file, or - for stdin'
  let isDir: boolean
  try {
    isDir = statSync(file).isDirectory()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UserError(`no such file: ${file}`, {hint})
    if (code === 'ENOTDIR') throw new UserError(`no such file: ${file} (a part of the path is not a directory)`, {hint})
    throw e
  }
  if (isDir) throw new UserError(`${file} is a directory, not a file to ingest`, {hint: `${hint}; to load every file in it: cat ${file}/*.ndjson | steme ingest -`})
}

/**
 * What to do about rejected lines. A plain fact can be fixed and ingested again; a signed record
 * (its line claims an id) cannot be fixed by editing, since its signature covers every field:
 * only its signer can give a good copy.
 */
function retryHint(res: Pick<IngestSummary, 'added' | 'present' | 'rejected' | 'errors'>): string {
  const signed = res.errors.filter((e) => e.id !== undefined).length
  const allSigned = signed > 0 && signed === res.rejected
  const signedNote = 'a signed record cannot be fixed by editing it (its signature covers every field): get a good copy from its signer'
  if (res.added + res.present === 0) {
    if (allSigned) return `hint: no line was stored: ${signedNote}`
    return `hint: no line was stored: fix the input and ingest it again${signed ? `; ${signedNote}` : ''}`
  }
  const plain =
    'plain facts are signed anew each time, so ingesting the whole input again would store its plain facts a second time (signed records already stored are skipped)'
  if (allSigned) return `hint: every other line was stored. The rejected lines are signed records: ${signedNote}. Before ingesting the input again, note that ${plain}`
  return `hint: every other line was stored. To retry, ingest only the rejected lines, fixed: ${plain}${signed ? `. Of the rejected lines, ${signedNote}` : ''}`
}

