/** Secrets kept out of messages. */

/**
 * Text with the userinfo of every URL in it hidden, for messages: an http(s) URL's whole userinfo
 * (a token may be all of it), and the password of any other (an ssh:// user name stays).
 */
export function redactUrls(text: string): string {
  // Up to the last @ before the host's end: a PostgreSQL password may hold @, and its driver reads it so.
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\/?#\s]*)@/gi, (_m, scheme: string, info: string) => {
    if (/^https?:/i.test(scheme)) return `${scheme}***@`
    const colon = info.indexOf(':')
    return colon < 0 ? `${scheme}${info}@` : `${scheme}${info.slice(0, colon)}:***@`
  })
}

/**
 * Text from a command line echoed in a usage error (an unknown command or flag, an unexpected
 * argument) with every run of 64 hex digits hidden: that is the shape of a private key seed, pasted
 * where it does not belong, and a usage error is no reason to print it into a terminal or CI log.
 */
export const hideSeeds = (text: string): string => text.replace(/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/gi, '<64 hex digits, not printed: it may be a private key>')
