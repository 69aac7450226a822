import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {claimsExplainOp, type ClaimsExplainResult} from '../../ops/claims-explain.js'
import {lazyStore} from '../../ops/verify.js'
import {outputFile} from '../../output-file.js'
import {plural} from '../../core/words.js'

export default class ClaimsExplain extends StemeCommand {
  static summary = 'Render the claims as a markdown page grouped by subject: what must stay true, why, status and author'
  static examples = ['<%= config.bin %> claims explain > docs/what-must-stay-true.md', '<%= config.bin %> claims explain --output CLAIMS.md']
  static flags = {
    claims: Flags.string({description: 'claims file (default: .steme/claims.toml at the repo root)'}),
    output: Flags.string({char: 'o', description: 'write the markdown to this file instead of stdout (-: stdout)'}),
    baseline: Flags.string({description: 'say which failures this baseline accepts (default: .steme/claims-baseline.json when it exists)'}),
  }

  async run(): Promise<ClaimsExplainResult> {
    const {flags} = await this.parse(ClaimsExplain)
    // Checked before the claims are verified; the file is replaced only with the whole page.
    const output = flags.output === undefined || flags.output === '-' ? undefined : outputFile(flags.output, '--output')
    const openStore = lazyStore(flags.store, process.env, (root) => this.open({store: flags.store, cwd: root, readOnly: true}))
    const res = await claimsExplainOp({openStore}, {cwd: process.cwd(), claims: flags.claims, baseline: flags.baseline})
    // The statuses on the page depend on them (a file that could not be read): said here, not hidden.
    for (const w of res.warnings ?? []) this.note(`warning: ${w}`)
    if (output) {
      output.notOver([res.path], 'the claims file this renders')
      await output.write((write) => write(res.markdown))
      this.note(`wrote ${plural(res.claims, 'claim')} to ${output.path}`)
    } else this.out(res.markdown)
    return res
  }
}
