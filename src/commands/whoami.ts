import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'

export default class Whoami extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Print the agent id (public key) you sign with, and where the key comes from'
  static description =
    'The key is --key (a key name or a key file path), else STEME_KEY (the same, or a 64-hex seed, as CI sets it), else your default key (`steme keys default <name>` picks it). ' +
    'The agent id is public: give it to others for their trust settings. The private key is never printed. ' +
    'stdout holds the agent id alone, so a script can pass it on (`steme trust "$(steme whoami --key ci)" 0.8`); which key it is, and where it comes from, goes to stderr.'
  static examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --key ci', '<%= config.bin %> whoami --json']
  static flags = {key: StemeCommand.keyFlag('the key to show')}

  async run(): Promise<{agent: string; name: string; origin: string}> {
    const {flags} = await this.parse(Whoami)
    const k = new KeyStore().load(flags.key)
    // The id alone on stdout: `steme trust "$(steme whoami)" 0.8` got the key's name and path as two more arguments.
    this.out(k.publicHex)
    if (!this.jsonEnabled()) this.note(`key "${k.name}" (${k.origin})`)
    return {agent: k.publicHex, name: k.name, origin: k.origin}
  }
}
