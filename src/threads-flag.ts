/**
 * `--threads` and `--db-threads`, bounded: each thread costs memory (a verify worker is a V8
 * isolate of tens of MB; DuckDB gives each of its threads buffers), and far more threads than
 * cores only adds that cost (`--threads 1000` to pull 7 records ran for minutes in 9.5 GB).
 * A value over the bound is refused (exit 2) rather than capped: a silent cap would hide a
 * typo, and the user can see and fix the number at once.
 */
import {availableParallelism} from 'node:os'
import {Errors, Flags} from '@oclif/core'

/** Threads per core at most: room for a busy machine's idle cores, far below what hurts. */
export const THREADS_PER_CORE = 4

export function maxThreads(cores = availableParallelism()): number {
  return THREADS_PER_CORE * Math.max(1, cores)
}

/** An integer thread-count flag, from `min` up to maxThreads() on this machine (checked when parsed, not baked into the manifest). */
export function threadsFlag(description: string, opts: {min: number; default?: number}) {
  const flag = Flags.custom<number>({
    description: `${description}; at most ${THREADS_PER_CORE} per core`,
    helpValue: '<n>',
    async parse(input) {
      if (!/^-?\d+$/.test(input)) throw new Errors.CLIError(`Expected an integer but received: ${input}`)
      const n = Number.parseInt(input, 10)
      if (n < opts.min) throw new Errors.CLIError(`Expected an integer greater than or equal to ${opts.min} but received: ${input}`)
      const max = maxThreads()
      if (n > max) throw new Errors.CLIError(`${n} threads is more than ${THREADS_PER_CORE} per core (at most ${max} on this machine, with ${max / THREADS_PER_CORE} cores): more threads only cost memory`)
      return n
    },
  })
  return opts.default === undefined ? flag() : flag({default: opts.default})
}
