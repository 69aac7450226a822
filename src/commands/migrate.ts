import {Flags} from '@oclif/core'
import {existsSync, statSync} from 'node:fs'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import {UserError} from '../core/errors.js'
import {StemeCommand} from '../command.js'
import type {Store} from '../core/store.js'
import {migrateOp, type MigrateResult} from '../ops/migrate.js'
import {threadsFlag} from '../threads-flag.js'
import {plural} from '../core/words.js'
import {visible} from '../core/text.js'

export default class Migrate extends StemeCommand {
  static summary = 'Copy a store into another one, for example from a DuckDB file to PostgreSQL'
  static description =
    'Every record is re-verified (id from its canonical body, signature) before it is written; a bad record is reported and not copied, and so is a damaged row (stored text that is no record), so the sound records of a damaged store can be copied out of it. ' +
    'Records the target already has are skipped, so an interrupted copy can simply be run again. ' +
    'Ctrl-C (or SIGTERM) stops the copy after the batches already read are committed, says how many records were copied, and exits 130 (143); a second Ctrl-C quits at once, which loses nothing committed either. ' +
    "The target is created when it does not exist yet (a new DuckDB file, or steme's schema in an existing PostgreSQL database). " +
    'Exit 1 if any record failed verification.'
  static examples = [
    '<%= config.bin %> migrate --from .steme --to postgres://steme@db.internal/steme',
    '<%= config.bin %> migrate --from postgres://steme@db.internal/steme --to backup.duckdb --json',
  ]
  static flags = {
    from: Flags.string({description: 'store to copy from: a .steme directory, a DuckDB file or a postgres:// URL', required: true}),
    to: Flags.string({description: 'store to copy into (created if missing)', required: true}),
    batch: Flags.integer({description: 'records per batch (one transaction each)', default: 5000, min: 1}),
    threads: threadsFlag('verification worker threads (default: one per core)', {min: 0}),
  }

  private stores: Store[] = []

  async run(): Promise<MigrateResult> {
    const {flags} = await this.parse(Migrate)
    const [{openWhenFree, notDuckDB, CREATE_HINT}, {locateStore}] = await Promise.all([import('../runtime.js'), import('../config.js')])
    const source = locateStore(flags.from)
    if (!/^(postgres(ql)?:\/\/|memory:$)/i.test(source.url)) {
      // Said of --from, as typed: the store-finding errors speak of --store, which migrate has not.
      const hint = '--from names the store to copy: a directory holding .steme/, a .steme directory, its store.duckdb or a postgres:// URL'
      if (!existsSync(source.url)) throw new UserError(`migrate --from ${flags.from}: no store at ${source.url}`, {code: 'no_store', hint})
      notDuckDB(source.url, {as: `migrate --from ${flags.from}`, hint: `${hint}; to add records from a file, run \`steme ingest ${flags.from}\``})
    }
    // Each waits, as every command does, for another steme holding it, as long as its own config says.
    const from = await openWhenFree(source, {readOnly: true, wait: this.storeWait()})
    this.stores.push(from)
    const target = locateStore(flags.to)
    const isPg = /^postgres(ql)?:\/\//i.test(target.url)
    const given = resolve(flags.to)
    if (!isPg && existsSync(given) && statSync(given).isDirectory() && target.dir !== undefined && !existsSync(target.dir)) {
      // A directory with no .steme in it: DuckDB's "IO Error: Cannot open file" said only that.
      throw new UserError(`migrate --to ${flags.to}: ${dirname(target.dir)} holds no .steme store`, {
        hint: `make one there first (\`steme init --dir ${flags.to}\`), or name a file for a new store, such as ${join(flags.to, 'store.duckdb')}`,
      })
    }
    if (isAbsolute(target.url) && !existsSync(dirname(target.url))) {
      // A new store's file in a directory that is not there (`--to backups/store.duckdb`).
      throw new UserError(`migrate --to ${flags.to}: the directory ${dirname(target.url)} does not exist`, {
        hint: `create it first (\`mkdir -p ${dirname(flags.to)}\`), or name a file for the new store in a directory that exists`,
      })
    }
    if (!isPg && existsSync(target.url)) {
      notDuckDB(target.url, {as: `migrate --to ${flags.to}`, hint: CREATE_HINT})
    }
    const to = await openWhenFree(target, {create: true, wait: this.storeWait()})
    this.stores.push(to)
    const progress = await this.progress('migrate')
    // Ctrl-C stops the reading; the batches read are committed and counted. Without this the process
    // died at once, saying nothing of what the target then held. A second one ends it at once (the
    // handlers are gone by then); DuckDB keeps every batch committed before it.
    const stop = this.stopOnSignal(progress, 'committing the batches already read')
    let res: MigrateResult
    try {
      res = await migrateOp({from, to}, {batch: flags.batch, threads: flags.threads, signal: stop.signal, onProgress: (p) => progress?.update({...p})})
    } finally {
      stop.release()
    }
    for (const e of res.errors) this.note(visible(`bad record${e.id ? ` ${e.id}` : ''}: ${e.reason}`))
    if (res.bad > res.errors.length) this.note(`... and ${res.bad - res.errors.length} more bad ${res.bad - res.errors.length === 1 ? 'record' : 'records'}`)
    this.out(`${res.from} -> ${res.to}: ${plural(res.scanned, 'record')} read, ${res.added} added, ${res.present} already present, ${res.bad} bad (${res.seconds} s)`)
    if (res.bad > 0) process.exitCode = 1
    if (res.interrupted) {
      this.note(`interrupted: the ${plural(res.added + res.present, 'record')} counted above are in ${res.to}, the rest are not; to copy them, run the same command again (records already there are skipped)`)
      process.exitCode = stop.caught() === 'SIGTERM' ? 143 : 130
    }
    return res
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    const stores = this.stores
    this.stores = []
    await Promise.allSettled(stores.map((s) => s.close()))
    return super.finally(err)
  }
}
