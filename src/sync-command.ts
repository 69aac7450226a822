/** The shared shape of `steme pull`, `push` and `sync`: flags, progress on a TTY, the summary and exit code. */
import {dirname} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {StemeCommand} from './command.js'
import type {SyncMode, SyncSummary} from './sync/client.js'

export abstract class SyncCommand extends StemeCommand {
  static args = {remote: Args.string({description: 'a configured remote name, or a URL / path (default: origin, else the only remote)'})}
  static flags = {
    'accept-host-key': Flags.boolean({description: 'SSH: trust an unknown host key and add it to known_hosts (a changed key is accepted for this run only)'}),
    'remote-cmd': Flags.string({description: 'SSH: how to run steme on the remote (default: steme, or STEME_REMOTE_CMD)'}),
    identity: Flags.string({description: 'SSH: private key file to log in with (repeatable; default: ssh-agent, then ~/.ssh/id_*)', multiple: true}),
    retries: Flags.integer({description: 'retries of a failed request, with exponential backoff', default: 5, min: 0}),
    threads: Flags.integer({description: 'verification worker threads (default: one per core)', min: 0}),
  }

  protected abstract readonly mode: SyncMode

  async run(): Promise<SyncSummary> {
    const {args, flags} = await this.parse(this.constructor as typeof SyncCommand)
    const rt = await this.open({store: flags.store})
    const {syncOp} = await import('./ops/sync.js')
    const {openTransport} = await import('./sync/remote.js')
    const progress = process.stderr.isTTY && !this.jsonEnabled() ? await (await import('./ui/progress.js')).startProgress(this.mode) : undefined
    let res: SyncSummary
    try {
      res = await syncOp(rt, {
        remote: args.remote,
        mode: this.mode,
        threads: flags.threads,
        retry: {retries: flags.retries, baseMs: 200, maxMs: 10_000, onRetry: (n, ms, e) => this.note(`retry ${n} in ${ms} ms: ${e.message}`)},
        base: rt.location.dir ? dirname(rt.location.dir) : undefined,
        open: (name, spec, base) =>
          openTransport(name, spec, {
            cwd: base,
            acceptHostKey: flags['accept-host-key'],
            remoteCmd: flags['remote-cmd'] ?? process.env.STEME_REMOTE_CMD,
            identities: flags.identity,
            onNote: (t) => this.note(t),
          }),
        onProgress: (p) => progress?.update({rounds: p.rounds, ranges: p.ranges, received: p.received, sent: p.sent, rejected: p.rejected, 'bytes in': p.bytesIn, 'bytes out': p.bytesOut}),
      })
    } finally {
      progress?.stop()
    }
    const {renderSyncSummary} = await import('./ui/sync-summary.js')
    for (const e of res.errors) this.note(`${e.where === 'local' ? 'rejected here' : 'rejected by the remote'}${e.id ? ` ${e.id.slice(0, 12)}` : ''}: ${e.reason}`)
    this.out(renderSyncSummary(res))
    if (res.local.rejected > 0 || res.remoteResult.rejected > 0) process.exitCode = 1
    return res
  }
}
