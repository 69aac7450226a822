import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'

export default class Whoami extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Print the agent id (public key) you sign with, and where the key comes from'
  static description =
    'The key is --key (a key name or a key file path), else STEME_KEY (the same, or a 64-hex seed, as CI sets it), else your default key (`steme keys default <name>` picks it). ' +
    'The agent id is public: give it to others for their trust settings. The private key is never printed.'
  static examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --key ci', '<%= config.bin %> whoami --json']
  static flags = {key: StemeCommand.keyFlag('the key to show')}

  async run(): Promise<{agent: string; name: string; origin: string}> {
    const {flags} = await this.parse(Whoami)
    const k = new KeyStore().load(flags.key)
    this.out(`${k.publicHex}  (${k.name}, ${k.origin})`)
    return {agent: k.publicHex, name: k.name, origin: k.origin}
  }
}
