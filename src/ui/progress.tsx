/** A live progress line for long work (ingest, fsck, sync), on stderr, only on a TTY. */
import React from 'react'
import {render, Text} from 'ink'

export interface ProgressHandle {
  update(fields: Record<string, number>): void
  stop(): void
}

function Line({label, fields, started}: {label: string; fields: Record<string, number>; started: number}) {
  const secs = (Date.now() - started) / 1000
  const parts = Object.entries(fields).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
  const rate = fields.lines !== undefined && secs > 0 ? ` · ${Math.round(fields.lines / secs).toLocaleString('en-US')}/s` : ''
  return (
    <Text>
      <Text color="cyan">{label}</Text> {parts.join(' · ')}
      {rate} <Text dimColor>{secs.toFixed(1)}s</Text>
    </Text>
  )
}

export async function startProgress(label: string): Promise<ProgressHandle> {
  const started = Date.now()
  let fields: Record<string, number> = {}
  const app = render(<Line label={label} fields={fields} started={started} />, {stdout: process.stderr, patchConsole: false})
  let last = 0
  return {
    update(f) {
      fields = f
      const now = Date.now()
      if (now - last < 100) return
      last = now
      app.rerender(<Line label={label} fields={fields} started={started} />)
    },
    stop() {
      app.rerender(<Line label={label} fields={fields} started={started} />)
      app.unmount()
    },
  }
}
