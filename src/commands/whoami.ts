import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'

export default class Whoami extends StemeCommand {
  static summary = 'Print the agent id (public key) you sign with, and where the key comes from'
  static examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --key ci-bot', '<%= config.bin %> whoami --json']
  static flags = {key: StemeCommand.keyFlag('the key to show')}

  async run(): Promise<{agent: string; name: string; origin: string}> {
    const {flags} = await this.parse(Whoami)
    const k = new KeyStore().load(flags.key)
    this.out(`${k.publicHex}  (${k.name}, ${k.origin})`)
    return {agent: k.publicHex, name: k.name, origin: k.origin}
  }
}
