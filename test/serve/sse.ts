/** A reader of a server-sent event stream, parsed as the EventSource standard parses one: its events, and the id a reconnect would send. */

export interface SseEvent {
  event: string
  data: string
  /** The stream's last event id when this event was dispatched. */
  lastEventId: string
}

export class SseStream {
  readonly events: SseEvent[] = []
  /** What an EventSource would send as Last-Event-ID on reconnecting now. */
  lastEventId = ''
  private buf = ''
  private idBuffer = ''
  private type = ''
  private data: string[] = []
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly dec = new TextDecoder()
  ended = false

  private constructor(
    readonly status: number,
    body: ReadableStream<Uint8Array>,
    private readonly ctrl: AbortController,
  ) {
    this.reader = body.getReader()
  }

  static async open(url: string, headers: Record<string, string>): Promise<SseStream> {
    const ctrl = new AbortController()
    const res = await fetch(url, {headers, signal: ctrl.signal})
    return new SseStream(res.status, res.body!, ctrl)
  }

  /** Read until `done` holds (checked after each chunk); fails when the stream ends first or `ms` pass. */
  async until(done: (s: SseStream) => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!done(this)) {
      if (this.ended) throw new Error(`the stream ended before ${what}; events: ${JSON.stringify(this.events)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; events: ${JSON.stringify(this.events)}`)
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)))
      const next = await Promise.race([this.reader.read(), timeout])
      clearTimeout(timer)
      if (next === 'timeout') continue
      if (next.done) {
        this.ended = true
        continue
      }
      this.feed(this.dec.decode(next.value, {stream: true}))
    }
  }

  /** Records sent so far (`event: record`), as parsed JSON. */
  records(): Array<{id: string; hlc: string; subject?: string}> {
    return this.events.filter((e) => e.event === 'record').map((e) => JSON.parse(e.data))
  }

  close(): void {
    this.ctrl.abort()
  }

  private feed(text: string): void {
    this.buf += text
    let i
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i).replace(/\r$/, '')
      this.buf = this.buf.slice(i + 1)
      this.line(line)
    }
  }

  // The standard's "interpret an event stream" steps, for the fields steme sends.
  private line(line: string): void {
    if (line === '') {
      this.lastEventId = this.idBuffer
      if (this.data.length) this.events.push({event: this.type || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId})
      this.data = []
      this.type = ''
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') this.type = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.idBuffer = value
  }
}
