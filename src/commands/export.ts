import {Flags} from '@oclif/core'
import {once} from 'node:events'
import {StemeCommand} from '../command.js'
import {hlcBound} from '../core/hlc.js'
import {exportOp} from '../ops/export.js'
import {outputFile, type Write} from '../output-file.js'
import {plural} from '../core/words.js'

export default class Export extends StemeCommand {
  static summary = 'Write records as signed NDJSON, re-ingestable anywhere'
  static description = 'With --output the file is replaced only when the export is complete: a failed or interrupted export leaves it as it was.'
  static examples = ['<%= config.bin %> export -o backup.ndjson', '<%= config.bin %> export --since 2026-01-01 | ssh host steme ingest -']
  static enableJsonFlag = false
  static flags = {
    since: Flags.string({description: 'only records stamped after this date or hlc'}),
    subject: Flags.string({description: 'only assertions about this subject'}),
    output: Flags.string({char: 'o', description: 'file to write (default: stdout)'}),
  }

  async run(): Promise<{records: number}> {
    const {flags} = await this.parse(Export)
    // Every flag is checked before the store or the file is opened.
    const since = flags.since === undefined ? undefined : hlcBound(flags.since, '--since')
    const output = flags.output === undefined ? undefined : outputFile(flags.output, '--output')
    const rt = await this.open({store: flags.store, readOnly: true})
    // A server URL or memory: is no file, and is skipped.
    output?.notOver([rt.location.url, `${rt.location.url}.wal`], 'the store file this exports')
    const scan = (write: Write) => exportOp(rt, {since, subject: flags.subject, write})
    if (!output) {
      return scan(async (chunk) => {
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
      })
    }
    const res = await output.write(scan)
    this.note(`${plural(res.records, 'record')} written to ${output.path}`)
    return res
  }
}
