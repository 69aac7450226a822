/** The human summary of a pull, push or sync. */
import {byteSize as bytes, plural} from '../core/words.js'
import type {SyncSummary} from '../sync/client.js'

const n = (x: number) => x.toLocaleString('en-US')

export function renderSyncSummary(s: SyncSummary): string {
  const verb = {pull: 'pulled from', push: 'pushed to', sync: 'synced with'}[s.mode]
  const lines = [`${verb} ${s.remote}`]
  if (s.mode !== 'push') lines.push(`  received ${plural(s.received, 'record', n)}: ${n(s.local.added)} added, ${n(s.local.present)} already here, ${n(s.local.rejected)} rejected`)
  if (s.mode !== 'pull') lines.push(`  sent     ${plural(s.sent, 'record', n)}: ${n(s.remoteResult.added)} added there, ${n(s.remoteResult.present)} already there, ${n(s.remoteResult.rejected)} rejected`)
  const overhead = s.bytesIn + s.bytesOut - s.recordBytesIn - s.recordBytesOut
  lines.push(`  ${plural(s.rounds, 'round trip', n)}, ${plural(s.ranges, 'range', n)} compared, ${bytes(s.bytesIn)} in, ${bytes(s.bytesOut)} out (${bytes(overhead)} protocol), ${(s.ms / 1000).toFixed(2)} s`)
  if (s.mode === 'sync' && s.remoteRoot) {
    const rejected = s.local.rejected + s.remoteResult.rejected
    const differ = `here ${plural(s.localRoot.count, 'record', n)}, there ${n(s.remoteRoot.count)}`
    lines.push(
      s.remoteRoot.fingerprint === s.localRoot.fingerprint
        ? `  in step: both hold ${plural(s.localRoot.count, 'record', n)} (root ${s.localRoot.fingerprint.slice(0, 16)})`
        : rejected
          ? `  not in step: ${differ}, because ${n(rejected)} record${rejected === 1 ? ' was' : 's were'} rejected (see the reasons above); syncing again rejects ${rejected === 1 ? 'it' : 'them'} again`
          : `  not yet in step: ${differ} (records arrived meanwhile? run sync again)`,
    )
  }
  return lines.join('\n')
}
