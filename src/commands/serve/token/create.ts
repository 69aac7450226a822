import {Flags} from '@oclif/core'
import {StemeCommand} from '../../../command.js'
import {locateStore} from '../../../config.js'
import {UserError} from '../../../core/errors.js'
import {stateDir, URL_STORE_NO_DAEMON} from '../../../serve/state.js'
import {ROLES, TokenFile, type Role} from '../../../serve/tokens.js'

export default class TokenCreate extends StemeCommand {
  static summary = 'Create a bearer token for steme serve; it is shown once and stored only as a hash'
  static description = 'Roles: read (query, log, show, stats, conflicts, verify, events, metrics, and pulls), write (also post records and push), admin (everything, and the token list). A running daemon accepts the token at once.'
  static examples = ['<%= config.bin %> serve token create --role read --name dashboard', '<%= config.bin %> serve token create --role write --name ci --json']
  static flags = {
    role: Flags.string({description: 'what the token may do', options: [...ROLES], required: true}),
    name: Flags.string({description: 'a label to recognise and revoke it by'}),
  }

  async run(): Promise<{token: string; id: string; role: Role; name?: string}> {
    const {flags} = await this.parse(TokenCreate)
    const dir = stateDir(locateStore(flags.store))
    if (!dir) throw new UserError('tokens belong to a store on disk (a .steme directory), which `steme serve` serves', {code: 'config', hint: URL_STORE_NO_DAEMON})
    const {token, entry} = TokenFile.forStateDir(dir).create(flags.role as Role, flags.name)
    this.out(token)
    if (!this.jsonEnabled()) this.note(`token ${entry.id} (${entry.role}${entry.name ? ', ' + entry.name : ''}): copy it now, it is not shown again`)
    return {token, id: entry.id, role: entry.role, name: entry.name}
  }
}
