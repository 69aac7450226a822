import {Args} from '@oclif/core'
import {StemeCommand} from '../../../command.js'
import {locateExistingStore} from '../../../config.js'
import {UserError} from '../../../core/errors.js'
import {stateDir, URL_STORE_NO_DAEMON} from '../../../serve/state.js'
import {TokenFile, type TokenEntry} from '../../../serve/tokens.js'

export default class TokenRevoke extends StemeCommand {
  static summary = 'Revoke a steme serve token by id or name; a running daemon refuses it from the next request'
  static examples = ['<%= config.bin %> serve token revoke ci']
  static args = {token: Args.string({required: true, description: 'the token id (12 chars) or its name'})}

  async run(): Promise<{revoked: Array<Omit<TokenEntry, 'hash'>>}> {
    const {args, flags} = await this.parse(TokenRevoke)
    const dir = stateDir(locateExistingStore(flags.store))
    if (!dir) throw new UserError('tokens belong to a store on disk (a .steme directory), which `steme serve` serves', {code: 'config', hint: URL_STORE_NO_DAEMON})
    const revoked = TokenFile.forStateDir(dir)
      .revoke(args.token)
      .map(({hash: _h, ...t}) => t)
    for (const t of revoked) this.out(`revoked ${t.id}${t.name ? ` (${t.name})` : ''}`)
    return {revoked}
  }
}
