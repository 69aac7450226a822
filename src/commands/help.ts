import {Args, Command, loadHelpClass} from '@oclif/core'
import {UserError} from '../core/errors.js'
import {renderError} from '../core/render-error.js'

/**
 * `steme help keys generate`, as `steme keys generate --help`. It has no flags of its own: the words
 * before the first flag are what to show, and other flags change nothing; but --json, which asks for
 * a document help cannot give, is refused as every command without JSON output refuses it.
 */
export default class HelpCommand extends Command {
  static summary = 'Show the help of steme, of a topic or of a command (the same as --help after it)'
  static examples = ['<%= config.bin %> help', '<%= config.bin %> help init', '<%= config.bin %> help keys generate']
  static strict = false
  static args = {command: Args.string({description: 'the command or topic, its words separated by spaces'})}

  async run(): Promise<void> {
    const end = this.argv.indexOf('--')
    if ((end < 0 ? this.argv : this.argv.slice(0, end)).includes('--json')) {
      const words = this.argv.filter((a) => !a.startsWith('-'))
      process.exitCode = renderError(
        new UserError('Nonexistent flag: --json; help takes no --json: it prints text for people', {hint: `run \`${[this.config.bin, 'help', ...words].join(' ')}\` without --json`}),
        true,
      )
      return
    }
    const Help = await loadHelpClass(this.config)
    await new Help(this.config, this.config.pjson.oclif.helpOptions).showHelp(this.argv)
  }
}
