// Sample whole-machine CPU utilization while a command runs: prints a timeline (per second: busy cores of 2).
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
const read = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number); const idle = f[3] + f[4]; const tot = f.reduce((a, b) => a + b, 0); return {idle, tot} }
const [cmd, ...args] = process.argv.slice(2)
const t0 = performance.now()
const p = spawn(cmd, args, {stdio: ['ignore', 'inherit', 'inherit']})
let prev = read()
const samples = []
const iv = setInterval(() => { const now = read(); const d = now.tot - prev.tot; samples.push(d ? 2 * (1 - (now.idle - prev.idle) / d) : 0); prev = now }, 500)
p.on('exit', () => { clearInterval(iv); const s = samples.map((x) => x.toFixed(1)); console.error(`wall ${((performance.now() - t0) / 1000).toFixed(1)} s; busy cores per 0.5 s:`); for (let i = 0; i < s.length; i += 20) console.error(`${String(i / 2).padStart(4)}s ${s.slice(i, i + 20).join(' ')}`); const idle = samples.reduce((a, x) => a + (2 - x) * 0.5, 0); console.error(`idle core-seconds ${idle.toFixed(1)}`) })
