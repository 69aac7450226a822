import {StemeCommand} from '../command.js'
import {fsckOp, type FsckResult} from '../ops/fsck.js'
import {plural} from '../core/words.js'

export default class Fsck extends StemeCommand {
  static summary = 'Check integrity: recompute every id and verify every signature'
  static description = 'Exit 1 if any stored record fails its check; each bad record is listed with the reason.'
  static examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck --json']

  async run(): Promise<FsckResult> {
    const {flags} = await this.parse(Fsck)
    // Read-only: fsck writes nothing, so it works on a read-only store and leaves the store open to
    // other readers (queries) while it runs.
    const rt = await this.open({store: flags.store, readOnly: true})
    const progress = await this.progress('fsck')
    let res: FsckResult
    try {
      res = await fsckOp(rt, {onProgress: (checked) => progress?.update({checked})})
    } finally {
      progress?.stop()
    }
    for (const b of res.bad) this.note(`bad record ${b.id}: ${b.reason}`)
    this.out(`${plural(res.checked, 'record')} checked, ${res.bad.length} bad`)
    if (res.bad.length) process.exitCode = 1
    return res
  }
}
