import {Args} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {KeyStore, type KeyInfo} from '../../keystore.js'

export default class KeysDefault extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Make one of your keys the default: the one that signs when neither --key nor STEME_KEY says otherwise'
  static description = 'The key must be there and usable (mode 600, not damaged). --key <name> or STEME_KEY signs with another key for one command without changing the default.'
  static examples = ['<%= config.bin %> keys default ci', '<%= config.bin %> keys default ci --json']
  static args = {name: Args.string({description: 'the name of the key, as `steme keys list` shows it', required: true})}

  async run(): Promise<KeyInfo> {
    const {args} = await this.parse(KeysDefault)
    const store = new KeyStore()
    const info = store.setDefault(args.name)
    this.out(`${info.agent}  ${info.name} (default)  ${info.path}`)
    const env = store.envNote()
    if (env) this.note(env)
    return info
  }
}
