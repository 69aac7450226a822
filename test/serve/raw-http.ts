/** A GET over a plain socket, read as sent: the HTTP/1.1 chunks of an answer (each a write of the daemon's), which fetch hides. */
import {connect, type Socket} from 'node:net'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  /** The size of each chunk of a chunked answer, in order (none for one sent with Content-Length). */
  chunks: number[]
  body: Buffer
  /** Whether the answer came whole: its last chunk (or all of its Content-Length) before the connection ended. */
  complete: boolean
}

/** A GET on a connection of its own. `onData` sees the answer's progress after each read; `socket` lets a test pause or drop it. */
export class RawGet {
  readonly socket: Socket
  readonly answer: Promise<RawAnswer>
  private buf = Buffer.alloc(0)
  private status = 0
  private headers: Record<string, string> = {}
  private inBody = false
  private chunks: number[] = []
  private body: Buffer[] = []
  private bodyBytes = 0
  private complete = false

  constructor(url: string, path: string, headers: Record<string, string>, onData?: (g: RawGet) => void) {
    const u = new URL(url)
    this.socket = connect(Number(u.port), u.hostname)
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
    this.socket.write(lines.join('\r\n') + '\r\n\r\n')
    this.answer = new Promise((resolve) => {
      const done = () => resolve({status: this.status, headers: this.headers, chunks: this.chunks, body: Buffer.concat(this.body), complete: this.complete})
      this.socket.on('data', (d: Buffer) => {
        this.buf = Buffer.concat([this.buf, d])
        this.parse()
        onData?.(this)
      })
      this.socket.on('close', done)
      this.socket.on('error', () => undefined)
    })
  }

  /** The body's bytes received so far. */
  get received(): number {
    return this.bodyBytes
  }

  /** The body received so far, as text. */
  text(): string {
    return Buffer.concat(this.body).toString('utf8')
  }

  private parse(): void {
    if (!this.inBody) {
      const end = this.buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine, ...fields] = this.buf.subarray(0, end).toString('latin1').split('\r\n')
      this.status = Number(statusLine.split(' ')[1])
      for (const f of fields) {
        const colon = f.indexOf(':')
        this.headers[f.slice(0, colon).trim().toLowerCase()] = f.slice(colon + 1).trim()
      }
      this.buf = this.buf.subarray(end + 4)
      this.inBody = true
    }
    if (this.headers['transfer-encoding'] !== 'chunked') {
      this.take(this.buf)
      this.buf = Buffer.alloc(0)
      this.complete = this.bodyBytes === Number(this.headers['content-length'])
      return
    }
    for (;;) {
      const eol = this.buf.indexOf('\r\n')
      if (eol < 0) return
      const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16)
      if (size === 0) {
        this.complete = true
        return
      }
      if (this.buf.length < eol + 2 + size + 2) return
      this.chunks.push(size)
      this.take(this.buf.subarray(eol + 2, eol + 2 + size))
      this.buf = this.buf.subarray(eol + 2 + size + 2)
    }
  }

  private take(b: Buffer): void {
    if (!b.length) return
    this.body.push(Buffer.from(b))
    this.bodyBytes += b.length
  }
}
