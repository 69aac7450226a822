/** Whether a listening address is reachable from this machine only (so serving it without auth or TLS exposes nothing). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
