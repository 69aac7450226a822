#!/usr/bin/env node
// `npm run test:reliability`: runs the reliability suites (test/reliability) at full scale and
// prints one table of faults injected, inputs tried, schedules run, records lost, invalid
// records stored and crashes. `npm test` runs the same suites at a bounded scale.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'steme-reliability-'))
const bounded = process.argv.includes('--bounded')
const env = {...process.env, STEME_RELIABILITY_DIR: dir, ...(bounded ? {} : {STEME_RELIABILITY_FULL: '1'})}
const run = spawnSync('npx', ['vitest', 'run', 'test/reliability'], {stdio: 'inherit', env})
const file = join(dir, 'figures.jsonl')
const rows = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []
rmSync(dir, {recursive: true, force: true})

const cols = ['faults', 'inputs', 'schedules', 'lost', 'invalidStored', 'crashes']
const head = ['suite', 'faults injected', 'inputs tried', 'schedules run', 'records lost', 'invalid stored', 'crashes']
const cell = (v) => (v === undefined ? '-' : v.toLocaleString('en-US'))
const table = [head, ...rows.map((r) => [r.suite, ...cols.map((c) => cell(r[c]))])]
const total = ['TOTAL', ...cols.map((c) => cell(rows.reduce((t, r) => t + (r[c] ?? 0), 0)))]
table.push(total)
const widths = head.map((_, i) => Math.max(...table.map((r) => String(r[i]).length)))
console.log(`\nsteme reliability (${bounded ? 'bounded' : 'full'} scale)\n`)
for (const r of table) console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '))
const bad = rows.some((r) => (r.lost ?? 0) + (r.invalidStored ?? 0) + (r.crashes ?? 0) > 0)
process.exit(run.status !== 0 || bad ? 1 : 0)
