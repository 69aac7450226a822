import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {KeyStore, type KeyInfo} from '../../keystore.js'

export default class KeysGenerate extends StemeCommand {
  static summary = 'Create a new Ed25519 signing key (private key file mode 0600, never printed)'
  static examples = ['<%= config.bin %> keys generate', '<%= config.bin %> keys generate --name ci --default']
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
