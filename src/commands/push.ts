import {SyncCommand} from '../sync-command.js'

export default class Push extends SyncCommand {
  static summary = 'Send a remote the records it lacks'
  static description = `Remotes: a path to another store, ssh://[user@]host[:port]/path (runs \`steme sync-serve --stdio\` there;
the host is looked up in ~/.ssh/config as ssh does: HostName, User, Port, IdentityFile, UserKnownHostsFile, GlobalKnownHostsFile,
StrictHostKeyChecking, ProxyJump; STEME_SSH_CONFIG=<file> reads that config instead, like ssh -F),
or http(s)://host:port (\`steme serve\`, or \`steme sync-serve --http\`). \`steme serve\` wants a bearer
token: set STEME_TOKEN (or pass --token) to one from \`steme serve token create --role read|write\`
(write to push or sync); never put it in the URL. Every received record is checked (id, signature, shape,
clock skew) before it is stored; batches commit as they arrive, so an interrupted run keeps
what it got and the next run continues. Exit 1 if any record was rejected.`
  static examples = ['<%= config.bin %> push', '<%= config.bin %> push origin --json', '<%= config.bin %> push ssh://me@host/srv/team-store']
  static args = SyncCommand.args
  static flags = SyncCommand.flags
  protected readonly mode = 'push' as const
}
