/** Reliability figures: tests append counters here; scripts/reliability.mjs prints the table. */
import {appendFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

export interface Figures {
  suite: string
  faults?: number
  inputs?: number
  schedules?: number
  lost?: number
  invalidStored?: number
  crashes?: number
}

const dir = process.env.STEME_RELIABILITY_DIR

/** Record one suite's figures (no-op unless the reliability runner asked for a report). */
export function report(f: Figures): void {
  if (!dir) return
  mkdirSync(dir, {recursive: true})
  appendFileSync(join(dir, 'figures.jsonl'), JSON.stringify(f) + '\n')
}

/** Scale of the reliability suites: bounded in CI and `npm test`, full with STEME_RELIABILITY_FULL=1. */
export const FULL = process.env.STEME_RELIABILITY_FULL === '1'
