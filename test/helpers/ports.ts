/** Ports for tests of what listens and connects where. */
import {createServer} from 'node:net'

/** Unprivileged ports of the WHATWG fetch spec's "bad port" list: fetch (and browsers) refuse them. */
export const FETCH_BLOCKED = [10080, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 6000, 5060, 5061, 4190, 4045, 3659, 2049]

/** One of FETCH_BLOCKED that nothing on 127.0.0.1 listens on now. */
export async function freeFetchBlockedPort(): Promise<number> {
  for (const port of FETCH_BLOCKED) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer()
      s.once('error', () => resolve(false))
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error(`every one of ${FETCH_BLOCKED.join(', ')} is taken on 127.0.0.1`)
}
