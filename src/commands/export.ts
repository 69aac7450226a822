import {Flags} from '@oclif/core'
import {createWriteStream} from 'node:fs'
import {once} from 'node:events'
import {StemeCommand} from '../command.js'
import {hlcBound} from '../core/hlc.js'
import {exportOp} from '../ops/export.js'

export default class Export extends StemeCommand {
  static summary = 'Write records as signed NDJSON, re-ingestable anywhere'
  static examples = ['<%= config.bin %> export -o backup.ndjson', '<%= config.bin %> export --since 2026-01-01 | ssh host steme ingest -']
  static enableJsonFlag = false
  static flags = {
    since: Flags.string({description: 'only records stamped after this date or hlc'}),
    subject: Flags.string({description: 'only assertions about this subject'}),
    output: Flags.string({char: 'o', description: 'file to write (default: stdout)'}),
  }

  async run(): Promise<{records: number}> {
    const {flags} = await this.parse(Export)
    const rt = await this.open({store: flags.store, readOnly: true})
    const out = flags.output ? createWriteStream(flags.output, {mode: 0o644}) : process.stdout
    const res = await exportOp(rt, {
      since: flags.since === undefined ? undefined : hlcBound(flags.since),
      subject: flags.subject,
      write: async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain')
      },
    })
    if (flags.output) {
      out.end()
      await once(out, 'finish')
      this.note(`${res.records} records written to ${flags.output}`)
    }
    return res
  }
}
