import {StemeCommand} from '../../../command.js'
import {locateExistingStore} from '../../../config.js'
import {stateDir} from '../../../serve/state.js'
import {TokenFile, type TokenEntry} from '../../../serve/tokens.js'
import {table} from '../../../ui/table.js'

export default class TokenList extends StemeCommand {
  static summary = 'List steme serve tokens (ids, names, roles; never the secrets)'
  static examples = ['<%= config.bin %> serve token list', '<%= config.bin %> serve token list --json', '<%= config.bin %> serve token list --store ../team/.steme']

  async run(): Promise<{tokens: Array<Omit<TokenEntry, 'hash'>>}> {
    const {flags} = await this.parse(TokenList)
    const dir = stateDir(locateExistingStore(flags.store))
    const tokens = (dir ? TokenFile.forStateDir(dir).list() : []).map(({hash: _h, ...t}) => t)
    if (tokens.length === 0) this.out('no tokens: create one with `steme serve token create --role read|write|admin`')
    else this.out(table(['ID', 'NAME', 'ROLE', 'CREATED', 'REVOKED'], tokens.map((t) => [t.id, t.name ?? '', t.role, t.created, t.revoked ?? ''])))
    return {tokens}
  }
}
