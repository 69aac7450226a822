import {StemeCommand} from '../command.js'
import {statsOp} from '../ops/stats.js'
import {byteSize} from '../core/words.js'
import {table} from '../ui/table.js'

export default class Stats extends StemeCommand {
  static summary = 'Count what the store holds'
  static description =
    'Records in all and by kind (assertion, vote, retract, epoch, trust), distinct agents and subjects, the size of the store on disk ' +
    '(in KiB, MiB or GiB; `bytes` in --json is the exact count), ' +
    'its location, and its clock: the last stamp issued here, above which the next record is stamped. Opens the store read-only.'
  static examples = ['<%= config.bin %> stats', '<%= config.bin %> stats --json', '<%= config.bin %> stats --remote http://127.0.0.1:7411']
  static flags = {...StemeCommand.remoteFlags}

  async run() {
    const {flags} = await this.parse(Stats)
    // Through the daemon that holds this store, as query does, or --remote.
    const t = await this.target(flags, {readOnly: true})
    const s = t.remote ? await t.remote.stats() : await statsOp(t.rt)
    this.out(
      table(
        ['WHAT', 'COUNT'],
        [
          ['records', s.records],
          ...Object.entries(s.byKind).map(([k, v]) => [`  ${k}`, v] as [string, number]),
          ['agents', s.agents],
          ['subjects', s.subjects],
          // Readable in the table; --json keeps the exact byte count.
          ...(s.bytes === undefined ? [] : [['size on disk', byteSize(s.bytes)] as [string, string]]),
        ],
      ),
    )
    this.out(`store: ${s.location}\nclock: ${s.clock || 'none yet (nothing stamped)'}`)
    return s
  }
}
