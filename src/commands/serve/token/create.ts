import {Flags} from '@oclif/core'
import {StemeCommand} from '../../../command.js'
import {locateExistingStore} from '../../../config.js'
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
    const dir = stateDir(locateExistingStore(flags.store))
    if (!dir) throw new UserError('tokens belong to a store on disk (a .steme directory), which `steme serve` serves', {code: 'config', hint: URL_STORE_NO_DAEMON})
    if (flags.name !== undefined && flags.name.trim() === '') throw new UserError('--name is empty', {hint: 'give the token a name to recognise and revoke it by, or leave --name out'})
    const file = TokenFile.forStateDir(dir)
    const namesakes = flags.name === undefined ? [] : file.list().filter((t) => !t.revoked && t.name === flags.name)
    const {token, entry} = file.create(flags.role as Role, flags.name)
    this.out(token)
    if (!this.jsonEnabled()) this.note(`token ${entry.id} (${entry.role}${entry.name ? ', ' + entry.name : ''}): copy it now, it is not shown again`)
    // Said, not refused: a token is replaced by creating its successor before revoking it. But a
    // name several active tokens share revokes none of them (revoke asks for an id then).
    if (namesakes.length) {
      this.note(
        `note: ${namesakes.length === 1 ? 'another active token is' : `${namesakes.length} other active tokens are`} named "${flags.name}" too: ${namesakes.map((t) => `${t.id} (${t.role})`).join(', ')}; revoke by id (\`steme serve token revoke <id>\`), as the name no longer says which`,
      )
    }
    return {token, id: entry.id, role: entry.role, name: entry.name}
  }
}
