import {StemeCommand} from '../../command.js'
import {KeyStore, type KeyInfo} from '../../keystore.js'
import {table} from '../../ui/table.js'

export default class KeysList extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'List your signing keys (public keys only)'
  static examples = ['<%= config.bin %> keys list', '<%= config.bin %> keys list --json']
  static description = `Sign with one of them by name: --key <name> on any command that signs, or STEME_KEY=<name>.
STEME_KEY also takes a key file path, or a 64-hex seed (for CI); --key takes a path too. Without either, the default key signs.
A key file steme cannot use (open to other users, damaged) is listed with what is wrong, and the exit code is 1.`

  async run(): Promise<{keys: KeyInfo[]}> {
    await this.parse(KeysList)
    const store = new KeyStore()
    const keys = store.list()
    if (keys.length === 0) this.out('no keys yet: create one with `steme keys generate`')
    else this.out(table(['NAME', 'AGENT', 'DEFAULT', 'FILE'], keys.map((k) => [k.name, k.problem ? '(unusable, see below)' : k.agent, k.default ? 'yes' : '', k.path]), {whole: [1, 3]}))
    for (const k of keys) if (k.problem) this.note(`key "${k.name}": ${k.problem}`)
    const env = store.envNote()
    if (env) this.note(env)
    // A key that cannot be used is a failure to report, after listing the rest.
    if (keys.some((k) => k.problem)) process.exitCode = 1
    return {keys}
  }
}
