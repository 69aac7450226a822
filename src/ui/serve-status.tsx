/** The live status line of `steme serve` on a TTY: requests/s, records stored and rejected, peers syncing. */
import React from 'react'
import {render, Text} from 'ink'

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

export function startServeStatus(url: string, totals: ServeTotals): {stop(): void} {
  const since = Date.now()
  let last = totals.requests
  let rate = 0
  const app = render(<Status url={url} rate={rate} t={{...totals}} since={since} />, {stdout: process.stderr, patchConsole: false})
  const timer = setInterval(() => {
    rate = totals.requests - last
    last = totals.requests
    app.rerender(<Status url={url} rate={rate} t={{...totals}} since={since} />)
  }, 1000)
  return {
    stop() {
      clearInterval(timer)
      app.unmount()
    },
  }
}
