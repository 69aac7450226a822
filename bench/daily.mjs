// The commands a user runs every day, as processes, on the bench store (BENCH_N signed records,
// default 1,000,000, generated as bench.mjs does): wall time, CPU time (user + system) and peak
// RSS of each steme process, from /usr/bin/time (GNU). Pipes to `head` check that a listing
// answers at once and stops with its reader. BENCH_BASELINE=<another build's bin/run.js> times
// that build by turns with this one. Figures are printed, never asserted. Needs `npm run build`
// first (npm run bench:daily does it).
import {spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, cli, fmt, generate} from './lib.mjs'

const N = Number(process.env.BENCH_N ?? 1_000_000)
const TIME = '/usr/bin/time'
if (!existsSync(TIME)) throw new Error('bench/daily.mjs needs GNU time at /usr/bin/time (apt-get install time)')
const BUILDS = [...(process.env.BENCH_BASELINE ? [['baseline', process.env.BENCH_BASELINE]] : []), ['this build', BIN]]

const home = mkdtempSync(join(tmpdir(), 'steme-daily-'))
const env = {...process.env, XDG_CONFIG_HOME: join(home, 'xdg'), HOME: home, STEME_STORE: join(home, 's', '.steme')}
try {
  const file = await generate({n: N, perSubject: 10, signed: true})
  cli(['init', '--dir', join(home, 's')], {env})
  const ing = cli(['ingest', file, '--json'], {env})
  if (ing.code !== 0) throw new Error(`ingest failed: ${ing.stderr}`)
  const head = Buffer.alloc(4096)
  const fd = openSync(file, 'r')
  readSync(fd, head, 0, head.length, 0)
  closeSync(fd)
  const firstId = JSON.parse(head.toString('utf8').split('\n')[0]).id
  const out = join(home, 'out')
  // The last fifth of the records' stamps (bench records are 10 ms apart from 2025-01-01).
  const late = new Date(Date.parse('2025-01-01T00:00:00Z') + N * 8).toISOString()
  // [label, steme's arguments, what the shell does with its output]
  const commands = [
    ['log | head -5', 'log', '| head -5 >/dev/null'],
    ['log --json | head -3', 'log --json', '| head -3 >/dev/null'],
    ['log -n 5', 'log -n 5', '>/dev/null'],
    ['log > file', 'log', `> ${out}`],
    ['log --json > file', 'log --json', `> ${out}`],
    ['log --since <last fifth> > file', `log --since ${late}`, `> ${out}`],
    ['log <subject>', 'log item:4242', '>/dev/null'],
    ['export -o file', `export -o ${out}`, '2>/dev/null'],
    ['export | head -c 1000', 'export', '| head -c 1000 >/dev/null'],
    ['export --since <last fifth> > file', `export --since ${late}`, `> ${out}`],
    ['export --subject <subject> > file', 'export --subject item:4242', `> ${out}`],
    ['stats', 'stats', '>/dev/null'],
    ['show <id>', `show ${firstId}`, '>/dev/null'],
    ['show <12-char prefix>', `show ${firstId.slice(0, 12)}`, '>/dev/null'],
    ['query <subject>', 'query item:4242', '>/dev/null'],
    ['trust list', 'trust list', '>/dev/null'],
    ['conflicts > file', 'conflicts', `> ${out}`],
    ['conflicts -n 20', 'conflicts -n 20', '>/dev/null'],
  ]
  console.log(`steme daily commands: ${fmt(N)} records; wall s / CPU s / peak RSS MiB (exit code when not 0)\n`)
  for (const [label, args, tail] of commands) {
    const cells = BUILDS.map(([, bin]) => {
      const stats = join(home, 'time.txt')
      // The steme process alone is timed: `head` and the shell are not.
      const r = spawnSync('bash', ['-c', `${TIME} -f '%e %U %S %M %x' -o ${stats} ${process.execPath} ${bin} ${args} ${tail}`], {env, encoding: 'utf8'})
      if (r.error) throw r.error
      const [wall, user, sys, rss, code] = readFileSync(stats, 'utf8').trim().split('\n').pop().split(' ').map(Number)
      return `${fmt(wall, 2)} / ${fmt(user + sys, 2)} / ${fmt(rss / 1024)}${code ? ` (exit ${code})` : ''}`
    })
    console.log(`${label.padEnd(36)} ${cells.map((c, i) => `${BUILDS.length > 1 ? `${BUILDS[i][0]}: ` : ''}${c}`.padEnd(40)).join(' ')}`)
  }
} finally {
  rmSync(home, {recursive: true, force: true})
}
