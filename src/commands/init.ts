import {Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {initOp, type InitResult} from '../ops/init.js'

export default class Init extends StemeCommand {
  static summary = 'Create a store in .steme/ here (database, config, .gitignore) and a signing key if you have none'
  static description =
    '.steme/ holds the database (kept out of git by its .gitignore), config.toml and, for claims, claims.toml. Run again, init changes nothing. ' +
    'Commands find the store as git finds a repository: --store, else STEME_STORE, else the nearest .steme/ upward; init says so (on stderr) when commands here would find another one (named by STEME_STORE, or a store this one is made inside), and when this directory is below the top of a git repository: `steme verify`, the claims commands and the hook work from the top (claims in <top>/.steme/claims.toml), so they use a store there (`steme init --dir <top>`), not this one.\n' +
    'A signing key is made only when you have none and STEME_KEY is not set: in $XDG_CONFIG_HOME/steme/keys, else ~/.config/steme/keys, mode 0600, never printed. When you have keys and none can sign, init says why.'
  static examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --dir ../team-store',
    '<%= config.bin %> init --json',
    '<%= config.bin %> init --store postgres://steme@db.internal/steme',
  ]
  static flags = {
    dir: Flags.string({description: 'directory to create .steme/ in', default: '.'}),
  }

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(Init)
    const res = await initOp({dir: flags.dir, storeUrl: flags.store, wait: this.storeWait()})
    this.out(`${res.created ? 'Created' : 'Already a store:'} ${res.dir ?? res.store}`)
    if (res.key) this.out(`Generated signing key "${res.key.name}" (${res.key.agent}) in ${res.key.path}`)
    else if (res.agent) this.out(`Signing as ${res.agent}`)
    for (const n of res.notes ?? []) this.note(`note: ${n}`)
    if (res.keyProblem) {
      const {message, hint} = res.keyProblem
      this.note(`note: the store is ready, but there is no key to sign with yet: ${message.replace(/^no signing key: /, '')}${hint ? `\nhint: ${hint}` : ''}`)
    }
    return res
  }
}
