/** The live status line of `steme serve` on a TTY: requests/s, records stored and rejected, peers syncing. */
import React from 'react'
import {render, Text, useStderr} from 'ink'

export interface ServeTotals {
  requests: number
  stored: number
  rejected: number
  syncing: number
  /** Connections refused at --max-connections. */
  refused: number
}

function Status({url, rate, t, since}: {url: string; rate: number; t: ServeTotals; since: number}) {
  const up = Math.round((Date.now() - since) / 1000)
  return (
    <Text>
      <Text color="green">serving</Text> {url} · {rate.toFixed(0)} req/s · {t.stored.toLocaleString('en-US')} records stored ·{' '}
      {t.rejected.toLocaleString('en-US')} rejected · {t.syncing} peers syncing
      {t.refused > 0 ? <Text color="yellow"> · {t.refused.toLocaleString('en-US')} connections refused (--max-connections)</Text> : null} <Text dimColor>up {up}s · Ctrl-C stops</Text>
    </Text>
  )
}

/**
 * Hands out ink's writer for stderr: it erases the status line, writes the text and draws the
 * line again under it. Unlike <Static>, whose output ink keeps for the life of the process, it
 * holds nothing, so a daemon that runs for months and logs many errors does not grow for it.
 */
function StderrWriter({into}: {into: {write?: (data: string) => void}}) {
  into.write = useStderr().write
  return null
}

export interface ServeStatus {
  /** Print a line above the status line, which stays at the bottom. */
  print(line: string): void
  stop(): void
}

export function startServeStatus(url: string, totals: ServeTotals): ServeStatus {
  const since = Date.now()
  let last = totals.requests
  let rate = 0
  const writer: {write?: (data: string) => void} = {}
  const tree = () => (
    <>
      <StderrWriter into={writer} />
      <Status url={url} rate={rate} t={{...totals}} since={since} />
    </>
  )
  const app = render(tree(), {stdout: process.stderr, patchConsole: false})
  const timer = setInterval(() => {
    rate = totals.requests - last
    last = totals.requests
    app.rerender(tree())
  }, 1000)
  let stopped = false
  return {
    print(line) {
      if (stopped || !writer.write) process.stderr.write(line + '\n')
      else writer.write(line + '\n')
    },
    stop() {
      stopped = true
      clearInterval(timer)
      app.unmount()
    },
  }
}
