/** Length-prefixed messages over a byte stream (stdio, SSH channels): a 4-byte big-endian length, then the message. */
import {MAX_MESSAGE} from './wire.js'

/** Sent once by `sync-serve --stdio` before any message, so a client can tell steme from a shell's noise. */
export const PREAMBLE = 'steme-sync/1\n'

export function frameMessage(msg: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(msg.length, 0)
  return Buffer.concat([head, msg])
}

export class FramingError extends Error {}

/** Accumulates stream chunks and yields whole messages; optionally expects the preamble first. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0)
  private sawPreamble: boolean

  constructor(expectPreamble: boolean) {
    this.sawPreamble = !expectPreamble
  }

  /** Feed a chunk; returns the messages it completed. Throws FramingError on garbage or an oversized length. */
  push(chunk: Buffer): Uint8Array[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    if (!this.sawPreamble) {
      if (this.buf.length < PREAMBLE.length) {
        if (!PREAMBLE.startsWith(this.buf.toString('latin1'))) throw new FramingError(`unexpected output: ${JSON.stringify(this.buf.toString('utf8').slice(0, 200))}`)
        return []
      }
      if (this.buf.subarray(0, PREAMBLE.length).toString('latin1') !== PREAMBLE) throw new FramingError(`unexpected output: ${JSON.stringify(this.buf.toString('utf8').slice(0, 200))}`)
      this.buf = this.buf.subarray(PREAMBLE.length)
      this.sawPreamble = true
    }
    const out: Uint8Array[] = []
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0)
      if (len > MAX_MESSAGE) throw new FramingError(`a message of ${len} bytes exceeds the bound of ${MAX_MESSAGE}`)
      if (this.buf.length < 4 + len) break
      out.push(Uint8Array.from(this.buf.subarray(4, 4 + len)))
      this.buf = this.buf.subarray(4 + len)
    }
    return out
  }

  get buffered(): number {
    return this.buf.length
  }
}
