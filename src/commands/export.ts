import {Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {hlcBound} from '../core/hlc.js'
import {exportOp} from '../ops/export.js'
import {outputFile, type Write} from '../output-file.js'
import {plural} from '../core/words.js'
import {isStdoutClosed, isStdoutFailed, writeOut} from '../stdout.js'
import {notEmpty} from '../ops/log.js'
import {field} from '../ui/table.js'

export default class Export extends StemeCommand {
  static summary = 'Write records as signed NDJSON, re-ingestable anywhere'
  static description = [
    'With --output the file is replaced only when the export is complete: a failed or interrupted export leaves it as it was. On stdout, an export that fails part way (a damaged record in the store, see `steme fsck`) exits 1 and says on stderr that the output is incomplete and how many records it holds.',
    "--subject exports what a query of that subject reads, so a store that ingests it answers as this one does, through every lens but reliability (which learns from every assertion of the predicate): the subject's assertions first, then, in clock order, the assertions they derive from through evidence (a retraction cascades down to them), the assertions about any subject that supersede them (with what those derive from), the votes and retractions that target any of these and the retractions of those votes, the retractions of every source they cite, and every trust and epoch record with their retractions (trust decides whose retractions and epochs count; the lenses read both). Assertions about other subjects that only cite these are left out. Answers that depend on local settings (pretrusted agents, lens parameters in config.toml, agent:self) need the same settings and key there.",
    "With --since as well, those records stamped after it, whichever assertion they bear on: exports of the same subject since the last one keep a copy in step.",
  ].join('\n\n')
  static examples = ['<%= config.bin %> export -o backup.ndjson', '<%= config.bin %> export --since 2026-01-01 | ssh host steme ingest -', '<%= config.bin %> export --subject drug:aspirin -o aspirin.ndjson']
  static enableJsonFlag = false
  static noJson = 'it writes signed NDJSON, one JSON record per line, already (`steme log --json` gives records as one JSON document)'
  static flags = {
    since: Flags.string({description: 'only records stamped after this date or hlc'}),
    subject: Flags.string({description: "only this subject's assertions and the records that decide their answers (see below)"}),
    output: Flags.string({char: 'o', description: 'file to write (default, or -: stdout)'}),
  }

  async run(): Promise<{records: number}> {
    const {flags} = await this.parse(Export)
    // Every flag is checked before the store or the file is opened.
    notEmpty(flags.subject, '--subject', '`steme export --subject drug:aspirin`')
    const since = flags.since === undefined ? undefined : hlcBound(flags.since, '--since')
    const output = flags.output === undefined || flags.output === '-' ? undefined : outputFile(flags.output, '--output')
    const rt = await this.open({store: flags.store, readOnly: true, dbThreads: 1})
    // A server URL or memory: is no file, and is skipped.
    output?.notOver([rt.location.url, `${rt.location.url}.wal`], 'the store file this exports')
    const written = {records: 0}
    const scan = (write: Write) => exportOp(rt, {since, subject: flags.subject, write, written})
    let res
    try {
      res = output ? await output.write(scan) : await scan(writeOut)
    } catch (e) {
      // A file is left as it was; what went to stdout stays there, and must not pass for an
      // export that ended (a reader gone, or a write that failed, has been dealt with already).
      if (!output && !isStdoutClosed(e) && !isStdoutFailed(e)) {
        this.note(`the export on stdout is incomplete: it stopped after ${plural(written.records, 'record')}, and the records after them were not written`)
      }
      throw e
    }
    if (output) this.note(`${plural(res.records, 'record')} written to ${output.path}`)
    // A subject mistyped would otherwise look like a small export: it holds only store-wide records.
    if (res.subjectAssertions === 0) this.note(`note: no assertions about ${field(flags.subject ?? '')}: the export holds only the store's trust and epoch records (and their retractions)`)
    return {records: res.records}
  }
}
