import {Args, Command, loadHelpClass} from '@oclif/core'

/**
 * `steme help keys generate`, as `steme keys generate --help`. It has no flags of its own: the words
 * before the first flag are what to show, and flags (`steme help query --json`) change nothing.
 */
export default class HelpCommand extends Command {
  static summary = 'Show the help of steme, of a topic or of a command (the same as --help after it)'
  static examples = ['<%= config.bin %> help', '<%= config.bin %> help init', '<%= config.bin %> help keys generate']
  static strict = false
  static args = {command: Args.string({description: 'the command or topic, its words separated by spaces'})}

  async run(): Promise<void> {
    const Help = await loadHelpClass(this.config)
    await new Help(this.config, this.config.pjson.oclif.helpOptions).showHelp(this.argv)
  }
}
