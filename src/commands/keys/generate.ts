import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {KeyStore, type KeyInfo} from '../../keystore.js'

export default class KeysGenerate extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Create a new Ed25519 signing key (private key file mode 0600, never printed)'
  static description =
    'Keys are kept in $XDG_CONFIG_HOME/steme/keys (else ~/.config/steme/keys), one <name>.key file each, never in a store or a repository. ' +
    'Your first key becomes the default; `steme keys default <name>` changes it. steme refuses a key file other users may read or write (as ssh does), and never overwrites one.\n' +
    'For CI, make a key for it here and keep its seed (the "seed" field of the key file, 64 hex chars) as the pipeline\'s STEME_KEY secret: the pipeline then needs no key file.'
  static examples = ['<%= config.bin %> keys generate', '<%= config.bin %> keys generate --name ci', '<%= config.bin %> keys generate --name laptop --default']
  static flags = {
    name: Flags.string({description: 'name of the key', default: 'default'}),
    default: Flags.boolean({description: 'make it the default key (automatic for your first key)'}),
  }

  async run(): Promise<KeyInfo> {
    const {flags} = await this.parse(KeysGenerate)
    const info = new KeyStore().generate(flags.name, flags.default ? true : undefined)
    this.out(`${info.agent}  ${info.name}${info.default ? ' (default)' : ''}  ${info.path}`)
    return info
  }
}
