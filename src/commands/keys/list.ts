import {StemeCommand} from '../../command.js'
import {KeyStore, type KeyInfo} from '../../keystore.js'
import {table} from '../../ui/table.js'

export default class KeysList extends StemeCommand {
  static summary = 'List your signing keys (public keys only)'

  async run(): Promise<{keys: KeyInfo[]}> {
    await this.parse(KeysList)
    const keys = new KeyStore().list()
    if (keys.length === 0) this.out('no keys yet: create one with `steme keys generate`')
    else this.out(table(['NAME', 'AGENT', 'DEFAULT', 'FILE'], keys.map((k) => [k.name, k.agent, k.default ? 'yes' : '', k.path])))
    return {keys}
  }
}
