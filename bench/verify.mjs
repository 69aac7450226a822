#!/usr/bin/env node
// Benchmark of the pre-commit path: `steme verify --staged` on a generated repo of 1,000 files and
// 100 claims, as a process, against an oclif command that does nothing. Prints figures; asserts nothing.
// Goal (issue 4): median <= 500 ms and <= 1.5x the empty command. `steme --version` is the emptiest
// (oclif answers it without loading a command); `steme keys list` with no keys is a command that does
// next to nothing.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const RUNS = Number(process.env.BENCH_RUNS ?? 9)
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js')
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'steme-bench-verify-'))
const env = {...process.env, XDG_CONFIG_HOME: join(dir, '.xdg'), NO_COLOR: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.org', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.org'}

function write(rel, text) {
  const p = join(dir, rel)
  mkdirSync(dirname(p), {recursive: true})
  writeFileSync(p, text)
}

// 10 packages x (package.json, tsconfig.json, config.yaml, settings.toml, Dockerfile, .nvmrc, 94 sources) = 1,000 files.
const PKGS = 10
let files = 0
for (let p = 0; p < PKGS; p++) {
  const d = `packages/pkg${p}`
  write(`${d}/package.json`, JSON.stringify({name: `@bench/pkg${p}`, version: `1.${p}.0`, engines: {node: '>=20.19'}, dependencies: {react: '19.3.1', yaml: '2.9.1'}}, null, 2) + '\n')
  write(`${d}/tsconfig.json`, '{\n  // strict everywhere\n  "compilerOptions": {"strict": true, "target": "ES2022",},\n}\n')
  write(`${d}/config.yaml`, `service:\n  name: pkg${p}\n  tls:\n    min_version: "1.3"\n  replicas: ${p + 2}\n`)
  write(`${d}/settings.toml`, `[server]\nport = ${8000 + p}\ntimeout_ms = 3000\n`)
  write(`${d}/Dockerfile`, 'FROM node:20-alpine AS build\nRUN npm ci\nFROM gcr.io/distroless/nodejs20\n')
  write(`${d}/.nvmrc`, '20.19.0\n')
  files += 6
  for (let i = 0; i < 94; i++) {
    write(`${d}/src/mod${i}.ts`, `// module ${i} of pkg${p}\nexport const VERSION = "1.${p}.${i}"\nexport function f${i}(x: number): number {\n  return x * ${i}\n}\n`.repeat(3))
    files++
  }
}

const claims = []
const extracts = []
for (let p = 0; p < PKGS; p++) {
  const d = `packages/pkg${p}`
  const pkg = `repo:package:${d}`
  const ts = `repo:tsconfig:${d}/tsconfig.json`
  claims.push(
    {id: `pkg${p}-name`, subject: pkg, predicate: 'name', expect: `@bench/pkg${p}`},
    {id: `pkg${p}-version`, subject: pkg, predicate: 'version', expect: '1.0.0', compare: 'gte'},
    {id: `pkg${p}-engines`, subject: pkg, predicate: 'engines.node', expect: '20', compare: 'gte'},
    {id: `pkg${p}-react`, subject: pkg, predicate: 'dependencies.react', expect: '^19', compare: 'matches'},
    {id: `pkg${p}-strict`, subject: ts, predicate: 'compilerOptions.strict', expect: true},
    {id: `pkg${p}-target`, subject: ts, predicate: 'compilerOptions.target', expect: ['ES2022', 'ES2023'], compare: 'in'},
    {id: `pkg${p}-tls`, subject: `svc:pkg${p}`, predicate: 'tls_min', expect: '1.3', compare: 'gte'},
    {id: `pkg${p}-replicas`, subject: `svc:pkg${p}`, predicate: 'replicas', expect: 2, compare: 'gte', severity: 'warn'},
    {id: `pkg${p}-timeout`, subject: `svc:pkg${p}`, predicate: 'timeout_ms', expect: 10000, compare: 'lte'},
    {id: `pkg${p}-docker`, subject: `repo:docker:${d}/Dockerfile`, predicate: 'base_image', expect: '^gcr\\.io/distroless/', compare: 'matches'},
  )
  extracts.push(
    {files: `${d}/config.yaml`, yaml: 'service.tls.min_version', subject: `svc:pkg${p}`, predicate: 'tls_min'},
    {files: `${d}/config.yaml`, yaml: 'service.replicas', subject: `svc:pkg${p}`, predicate: 'replicas'},
    {files: `${d}/settings.toml`, toml: 'server.timeout_ms', subject: `svc:pkg${p}`, predicate: 'timeout_ms'},
  )
}
// Repo-wide scans over every source file.
extracts.push({files: '**/*.ts', regex: 'BEGIN (RSA |EC )?PRIVATE KEY', count: true, subject: 'repo:secrets', predicate: 'private_keys'})
extracts.push({files: '**/*.ts', regex: '\\bdebugger\\b', count: true, subject: 'repo:code', predicate: 'debugger_statements'})
claims.length = 98
claims.push({id: 'no-private-keys', subject: 'repo:secrets', predicate: 'private_keys', expect: 0, why: 'keys belong in the vault'})
claims.push({id: 'no-debugger', subject: 'repo:code', predicate: 'debugger_statements', expect: 0, severity: 'warn'})

const toml = (v) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(toml).join(', ')}]` : String(v))
const block = (name, o) => `[[${name}]]\n` + Object.entries(o).map(([k, v]) => `${k} = ${toml(v)}`).join('\n') + '\n'
write('.steme/claims.toml', [...claims.map((c) => block('claim', c)), ...extracts.map((x) => block('extract', x))].join('\n'))

execFileSync('git', ['init', '-q'], {cwd: dir, env})
execFileSync('git', ['add', '-A'], {cwd: dir, env})
execFileSync('git', ['commit', '-qm', 'bench repo'], {cwd: dir, env})
// A staged change, and a different working tree, as in a real commit.
write('packages/pkg3/src/mod7.ts', 'export const changed = 1\n')
execFileSync('git', ['add', 'packages/pkg3/src/mod7.ts'], {cwd: dir, env})
write('packages/pkg3/src/mod7.ts', 'export const changedAgain = 2\n')

// Runs are interleaved (verify, --version, keys list, verify, ...) so load from other processes on the
// machine falls on every command alike; the first round only warms the page cache. Each run also reports
// its CPU time (user + system, git children included, from the shell's `times`): on a shared, loaded
// machine wall time mostly measures the queue, CPU time what the command itself costs.
function timeAll(commands) {
  const ms = commands.map(() => [])
  const cpu = commands.map(() => [])
  const last = []
  for (let i = 0; i < RUNS + 1; i++) {
    commands.forEach((args, c) => {
      const t0 = process.hrtime.bigint()
      const r = spawnSync('bash', ['-c', '"$@" >"$OUT" 2>"$ERR"; code=$?; times; exit $code', 'bench', process.execPath, bin, ...args], {cwd: dir, env: {...env, OUT: join(dir, '.out'), ERR: join(dir, '.err')}, encoding: 'utf8'})
      const wall = Number(process.hrtime.bigint() - t0) / 1e6
      last[c] = {status: r.status, stdout: readFileSync(join(dir, '.out'), 'utf8'), stderr: readFileSync(join(dir, '.err'), 'utf8')}
      // `times` prints the shell's own times, then its children's: "0m0.412s 0m0.120s".
      const child = r.stdout.trim().split('\n').pop().match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/)
      if (i > 0) {
        ms[c].push(wall)
        cpu[c].push(child ? (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000 : NaN)
      }
    })
  }
  const stats = (m) => {
    m.sort((a, b) => a - b)
    return {median: m[Math.floor(m.length / 2)], min: m[0], max: m[m.length - 1]}
  }
  return ms.map((m, c) => ({...stats(m), cpu: stats(cpu[c]), last: last[c]}))
}

const [verify, cold, version, empty] = timeAll([['verify', '--staged', '--json'], ['verify', '--staged', '--json', '--no-cache'], ['--version'], ['keys', 'list']])
if (verify.last.status !== 0) console.error(verify.last.stderr)
const report = JSON.parse(verify.last.stdout)
if (process.env.BENCH_KEEP) console.log(`kept ${dir}`)
else rmSync(dir, {recursive: true, force: true})

const f = (x) => `${x.median.toFixed(0)} ms (min ${x.min.toFixed(0)}, max ${x.max.toFixed(0)}); CPU ${x.cpu.median.toFixed(0)} ms`
console.log(`repo: ${files} files, ${claims.length} claims, ${extracts.length} extractors; ${RUNS} runs each, median; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
console.log(`verify --staged: ${report.summary.pass} pass, ${report.summary.conflict} conflict, ${report.summary.missing} missing, exit ${verify.last.status}, store ${report.store}`)
console.log(`  steme verify --staged   ${f(verify)}  (extraction cache warm: the hook's usual case)`)
console.log(`    ... --no-cache        ${f(cold)}  (every file read and parsed)`)
console.log(`  steme --version         ${f(version)}`)
console.log(`  steme keys list (empty) ${f(empty)}`)
for (const [name, x] of [['warm', verify], ['cold', cold]]) {
  const r1 = x.median / version.median
  const r2 = x.median / empty.median
  const c1 = x.cpu.median / version.cpu.median
  const c2 = x.cpu.median / empty.cpu.median
  console.log(`${name}: ${x.median.toFixed(0)} ms, ${r1.toFixed(2)}x --version, ${r2.toFixed(2)}x keys list (CPU ${c1.toFixed(2)}x, ${c2.toFixed(2)}x); goal <= 500 ms and <= 1.5x: ${x.median <= 500 && r1 <= 1.5 ? 'met against --version' : x.median <= 500 && r2 <= 1.5 ? 'met against keys list only' : 'NOT met'}`)
}
