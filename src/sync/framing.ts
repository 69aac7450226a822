/** Length-prefixed messages over a byte stream (stdio, SSH channels): a 4-byte big-endian length, then the message. */
import {MAX_MESSAGE} from './wire.js'

/** Sent once by `sync-serve --stdio` before any message, so a client can tell steme from a shell's noise. */
export const PREAMBLE = 'steme-sync/1\n'

export function frameMessage(msg: Uint8Array): Buffer {
  return Buffer.concat([frameHead(msg), msg])
}

/** The 4-byte length that precedes a message on a stream: written before the message itself, it saves copying the message. */
export function frameHead(msg: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(msg.length, 0)
  return head
}

export class FramingError extends Error {
  /** The announced length, when the error is a message over MAX_MESSAGE (not garbage). */
  readonly length?: number
  constructor(message: string, length?: number) {
    super(message)
    if (length !== undefined) this.length = length
  }
}

/**
 * Accumulates stream chunks and yields whole messages; optionally expects the preamble first.
 * Chunks are kept as a list and each byte is copied once, when its message is complete: a
 * 16 MiB message arriving in 16 KiB chunks costs 16 MiB of copying, not 8 GiB.
 */
export class MessageReader {
  private chunks: Buffer[] = []
  private size = 0
  private sawPreamble: boolean

  constructor(expectPreamble: boolean) {
    this.sawPreamble = !expectPreamble
  }

  /** The first n bytes (n <= size), merging leading chunks only as far as needed (for short headers). */
  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) {
      let k = 0
      let got = 0
      while (got < n) got += this.chunks[k++].length
      this.chunks.splice(0, k, Buffer.concat(this.chunks.slice(0, k), got))
    }
    return this.chunks[0].subarray(0, n)
  }

  /** Remove and return the first n bytes (n <= size). */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const c = this.chunks[0]
      const part = Math.min(c.length, n - at)
      out.set(c.subarray(0, part), at)
      at += part
      if (part === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(part)
    }
    this.size -= n
    return out
  }

  private garbage(): FramingError {
    const head = Buffer.from(this.take(Math.min(this.size, 200)))
    return new FramingError(`unexpected output: ${JSON.stringify(head.toString('utf8'))}`)
  }

  /** Feed a chunk; returns the messages it completed. Throws FramingError on garbage or an oversized length. */
  push(chunk: Buffer): Uint8Array[] {
    if (chunk.length) {
      this.chunks.push(chunk)
      this.size += chunk.length
    }
    if (!this.sawPreamble) {
      const n = Math.min(this.size, PREAMBLE.length)
      if (n === 0) return []
      if (this.peek(n).toString('latin1') !== PREAMBLE.slice(0, n)) throw this.garbage()
      if (n < PREAMBLE.length) return []
      this.take(PREAMBLE.length)
      this.sawPreamble = true
    }
    const out: Uint8Array[] = []
    while (this.size >= 4) {
      const len = this.peek(4).readUInt32BE(0)
      if (len > MAX_MESSAGE) throw new FramingError(`a message of ${len} bytes exceeds the bound of ${MAX_MESSAGE}`, len)
      if (this.size < 4 + len) break
      this.take(4)
      out.push(this.take(len))
    }
    return out
  }

  /** Whether the preamble has arrived (always true when none was expected). */
  get started(): boolean {
    return this.sawPreamble
  }

  get buffered(): number {
    return this.size
  }
}
