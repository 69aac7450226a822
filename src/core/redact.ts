/** Secrets kept out of messages. */

/**
 * Text with the userinfo of every URL in it hidden, for messages: an http(s) URL's whole userinfo
 * (a token may be all of it), and the password of any other (an ssh:// user name stays).
 *
 * A password may hold @ (the userinfo then ends at the authority's last @, as URL parsers read
 * it) or / ? # (which end the authority early, so `user:pa/ss@host` parses, if at all, as a host
 * and a path): when a URL has a password, everything up to its last @ is hidden, so no part of the
 * password is ever printed, at the cost of hiding an @ in the path of such a URL too.
 */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>]*)/gi, (whole, scheme: string, rest: string) => {
    const authority = /^[^/?#]*/.exec(rest)![0]
    const last = rest.lastIndexOf('@')
    const authAt = authority.lastIndexOf('@')
    let info: string
    if (authAt >= 0) info = authority.slice(0, authAt).includes(':') ? rest.slice(0, last) : authority.slice(0, authAt)
    // user:pa/ss@host: the part after the colon is no port, and an @ follows.
    else if (last >= 0 && /^[^[:]*:(?!\d*$)/.test(authority)) info = rest.slice(0, last)
    else return whole
    const after = rest.slice(info.length)
    if (/^https?:/i.test(scheme)) return `${scheme}***${after}`
    const colon = info.indexOf(':')
    return colon < 0 ? whole : `${scheme}${info.slice(0, colon)}:***${after}`
  })
}

/**
 * Text from a command line echoed in a usage error (an unknown command or flag, an unexpected
 * argument) with every run of 64 hex digits hidden: that is the shape of a private key seed, pasted
 * where it does not belong, and a usage error is no reason to print it into a terminal or CI log.
 */
export const hideSeeds = (text: string): string => text.replace(/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/gi, '<64 hex digits, not printed: it may be a private key>')
