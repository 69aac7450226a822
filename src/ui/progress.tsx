/** A live progress line for long work (ingest, fsck, sync), on stderr, only on a TTY. */
import React from 'react'
import {render, Text} from 'ink'

export interface ProgressHandle {
  update(fields: Record<string, number>): void
  stop(): void
}

export interface ProgressOptions {
  /** How many units the work has in all, when known: the `count` field is shown against it. */
  total?: number
  /** The field that counts units done, for the rate (and the share of `total`); default `lines`. */
  count?: string
}

/** The line's text after its label: each field, the rate, the share of the total and the time left, and the time taken. */
export function progressText(fields: Record<string, number>, secs: number, opts: ProgressOptions = {}): string {
  const countKey = opts.count ?? 'lines'
  const done = fields[countKey]
  const {total} = opts
  const parts = Object.entries(fields).map(([k, v]) => {
    const of = k === countKey && total !== undefined ? ` of ${total.toLocaleString('en-US')} (${Math.floor((100 * Math.min(v, total)) / Math.max(total, 1))}%)` : ''
    return `${k} ${v.toLocaleString('en-US')}${of}`
  })
  const rate = done !== undefined && secs > 0 ? done / secs : 0
  if (rate > 0) parts.push(`${Math.round(rate).toLocaleString('en-US')}/s`)
  // Only once the rate has had a second to settle, and never a negative time.
  if (rate > 0 && total !== undefined && secs >= 1 && done! < total) parts.push(`about ${clock((total - done!) / rate)} left`)
  return parts.join(' · ')
}

function clock(secs: number): string {
  const s = Math.ceil(secs)
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

function Line({label, fields, started, opts}: {label: string; fields: Record<string, number>; started: number; opts: ProgressOptions}) {
  const secs = (Date.now() - started) / 1000
  return (
    <Text>
      <Text color="cyan">{label}</Text> {progressText(fields, secs, opts)} <Text dimColor>{secs.toFixed(1)}s</Text>
    </Text>
  )
}

export async function startProgress(label: string, opts: ProgressOptions = {}): Promise<ProgressHandle> {
  const started = Date.now()
  let fields: Record<string, number> = {}
  const app = render(<Line label={label} fields={fields} started={started} opts={opts} />, {stdout: process.stderr, patchConsole: false})
  let last = 0
  return {
    update(f) {
      fields = f
      const now = Date.now()
      if (now - last < 100) return
      last = now
      app.rerender(<Line label={label} fields={fields} started={started} opts={opts} />)
    },
    stop() {
      app.rerender(<Line label={label} fields={fields} started={started} opts={opts} />)
      app.unmount()
    },
  }
}
