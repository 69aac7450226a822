/** Secrets kept out of messages. */

/**
 * Text with the userinfo of every URL in it hidden, for messages: an http(s) URL's whole userinfo
 * (a token may be all of it), and the password of any other (an ssh:// user name stays).
 */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^@\/?#\s]*)@/gi, (_m, scheme: string, info: string) => {
    if (/^https?:/i.test(scheme)) return `${scheme}***@`
    const colon = info.indexOf(':')
    return colon < 0 ? `${scheme}${info}@` : `${scheme}${info.slice(0, colon)}:***@`
  })
}
