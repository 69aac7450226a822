/** Answers written a piece at a time as they are made, so the daemon never holds a large answer whole. */
import {Readable} from 'node:stream'
import type {FastifyReply} from 'fastify'

/** How long a client may take none of an answer sent in pieces before it is dropped (ms; a setting for tests). */
export const sendStall = {ms: 120_000}

/**
 * Send the text `pieces` makes, one piece at a time: the next piece is asked for only once the
 * socket has taken the one before (backpressure), so a request holds about one piece however
 * large its answer, and a client that reads slowly slows the source instead of filling memory.
 * A client that goes away ends the source (its `return`: the finally blocks of a store's read
 * run). The first piece is made before anything is sent, so an error there (a store that cannot
 * be read) is still a JSON error answer; an error later cuts the answer short, without the
 * chunked encoding's last chunk, which no HTTP client takes for a whole answer.
 */
export async function sendPieces(reply: FastifyReply, type: string, pieces: AsyncGenerator<string, void, undefined>): Promise<FastifyReply> {
  const first = await pieces.next()
  const stop = (): void => void pieces.return(undefined).catch(() => undefined)
  // The response may close before the body below is ever read (fastify answers HEAD without it).
  reply.raw.once('close', stop)
  // A client that takes nothing for sendStall.ms is dropped: it holds a store read (a DuckDB
  // transaction, which keeps old row versions and holds up checkpoints) for as long as it stalls.
  // Progress is the socket taking more of the answer (with backpressure, only as the client
  // reads); a timer of its own, since the socket's timeout is Node's keep-alive timer.
  const socket = reply.raw.socket
  if (socket && sendStall.ms > 0) {
    let taken = socket.bytesWritten
    let since = Date.now()
    const watch = setInterval(
      () => {
        if (socket.bytesWritten !== taken) {
          taken = socket.bytesWritten
          since = Date.now()
        } else if (Date.now() - since >= sendStall.ms) socket.destroy()
      },
      Math.min(1000, Math.max(10, sendStall.ms / 4)),
    )
    watch.unref()
    const done = () => clearInterval(watch)
    reply.raw.once('close', done)
    reply.raw.once('finish', done)
  }
  let head = first.done ? undefined : first.value
  const body = new Readable({
    read() {
      if (head !== undefined) {
        this.push(head)
        head = undefined
        return
      }
      pieces.next().then(
        (r) => {
          if (!this.destroyed) this.push(r.done ? null : r.value)
        },
        (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
      )
    },
    destroy(err, cb) {
      stop()
      cb(err)
    },
  })
  return reply.type(type).send(body)
}
