/**
 * The ports fetch refuses to connect to: the "bad ports" of the WHATWG fetch standard
 * (https://fetch.spec.whatwg.org/#port-blocking), as browsers and Node's fetch (undici) block
 * them. steme's own clients use node:http and reach any port; a server bound to one of these
 * says so, for the browsers and fetch-based scripts that will not.
 */
const BLOCKED = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540,
  548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
])

export function fetchBlocksPort(port: number): boolean {
  return BLOCKED.has(port)
}

/** What a server listening on `port` says when fetch blocks it; `flag` is the option that picks the port. */
export function blockedPortNote(port: number, flag: string): string {
  return `port ${port} is one that browsers and fetch() refuse to connect to (a "bad port" of the fetch standard): steme's commands reach it, browsers and fetch-based clients will not; to serve those, pick another with ${flag}`
}
