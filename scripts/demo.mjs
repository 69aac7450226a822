#!/usr/bin/env node
// `npm run demo`: the main job end to end on the embedded default, in a temp dir.
// Builds a store from fixtures/, queries it, checks integrity, and copies it to a second store.
// Later parts (lenses, claims, sync) add their steps below when present.
import {$, chalk, fs, path, os} from 'zx'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'steme-demo-'))
process.env.XDG_CONFIG_HOME = path.join(tmp, 'config')
process.env.NO_COLOR = '1'
$.verbose = false
$.cwd = path.join(tmp, 'alice')
fs.mkdirSync($.cwd)
const steme = (args, opts = {}) => $({...opts, nothrow: true, quiet: true})`node ${path.join(root, 'bin/run.js')} ${args}`
/** The agent that signed the FDA label's records in fixtures/demo/records.ndjson. */
const FDA_AGENT = '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c'
const has = (cmd) => fs.existsSync(path.join(root, 'dist', 'commands', `${cmd}.js`))

/** An argument as a shell needs it, so every command the demo prints can be copied and run. */
const shellArg = (a) => (/^[\w./:@%+=,-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)

async function step(title, args, {expectExit = 0, input} = {}) {
  console.log(chalk.bold(`\n$ steme ${args.map(shellArg).join(' ')}`) + (title ? chalk.dim(`   # ${title}`) : ''))
  const r = await steme(args, input === undefined ? {} : {input})
  process.stdout.write(r.stdout)
  if (r.stderr.trim()) process.stdout.write(chalk.dim(r.stderr))
  if (r.exitCode !== expectExit) {
    console.error(chalk.red(`demo step failed: exit ${r.exitCode}, expected ${expectExit}`))
    process.exit(1)
  }
  return r
}

try {
  await step('create a store and a signing key', ['init'])
  await step('load signed records from three agents (fda, lab, blog)', ['ingest', path.join(root, 'fixtures/demo/records.ndjson')])
  await step('load plain facts from CSV, signed with our key', ['ingest', path.join(root, 'fixtures/demo/readings.csv')])
  await step('what do we know about aspirin? (default lens)', ['query', 'drug:aspirin', '--explain'])
  await step('every candidate for one predicate', ['query', 'drug:aspirin', 'bleeding_rate', '--all'])
  if (fs.existsSync(path.join(root, 'src/lenses/consensus.ts'))) {
    await step('the same question through other lenses', ['query', 'drug:aspirin', 'bleeding_rate', '--lens', 'consensus', '--explain'])
    await step('skeptic: no answer while the top values tie', ['query', 'drug:aspirin', 'bleeding_rate', '--lens', 'skeptic', '--explain'])
  }
  await step('what the store knew before the blog post arrived', ['query', 'drug:aspirin', 'bleeding_rate', '--as-of', '2025-03-01T11:30:00Z', '--all'])
  if (has('retract')) {
    await step('the most contested questions in the store', ['conflicts'])
    await step('a composed lens: only DOI sources, then consensus, else the latest', ['query', 'drug:aspirin', 'bleeding_rate', '--lens', 'source:doi:*, then consensus, else recency', '--explain'])
    // Something derived from the blog's figure, so that retracting the blog shows the cascade.
    const derived = (
      await step('derive a conclusion from the blog\'s figure (--evidence names what it stands on)', ['assert', 'drug:aspirin', 'bleeding_risk', 'high', '--confidence', '0.6', '--evidence', 'd3a0d44f2504'])
    ).stdout.trim()
    await step('retract the blog as a source; what was derived from it falls too', ['retract', '--source', 'url:https://example.org/health-blog', '--reason', 'not peer reviewed'])
    await step('the answer without it, and why each candidate stands or not', ['query', 'drug:aspirin', 'bleeding_rate', '--all', '--explain'])
    await step('why the derived conclusion fell: the chain down to the retraction', ['show', derived.slice(0, 12)])
    // The fixtures are stamped in 2025 and the retraction now: 2026-01-01 falls between them.
    await step('as the store knew it on 1 January 2026, before the retraction: the blog still answered', ['query', 'drug:aspirin', 'bleeding_rate', '--as-of', '2026-01-01'])
    await step('name an era for epoch-aware lenses', ['epoch', 'post-2025-review', '--starts', '2025-01-01'])
    const lens = ['query', 'drug:aspirin', 'bleeding_rate', '--lens', 'epoch:current, then trust, else recency', '--explain']
    await step('only the current era, then trust, else recency', lens)
    await step('trust scores: our own key is the authority; endorsements from agents we do not trust pass on nothing', ['trust', 'list'])
    await step('trust the agent behind the FDA label: whom it endorses gains trust too, and its epochs count here', ['trust', FDA_AGENT, '0.9'])
    await step('the same question: now trust decides', lens)
    await step('an unknown lens is a usage error', ['query', 'drug:aspirin', '--lens', 'nonesuch'], {expectExit: 2})
  }
  await step('the log of one subject', ['log', 'service:api'])
  await step('counts', ['stats'])
  await step('recompute every id and verify every signature', ['fsck'])

  // A second store (bob) gets alice's records by export and ingest.
  const bob = path.join(tmp, 'bob')
  fs.mkdirSync(bob)
  const exported = await steme(['export'])
  console.log(chalk.bold('\n$ steme export | (mkdir ../bob && cd ../bob && steme init && steme ingest -)') + chalk.dim('   # copy every signed record to a second store'))
  $.cwd = bob
  await steme(['init'])
  const r = await steme(['ingest', '-'], {input: exported.stdout})
  process.stdout.write(r.stdout)
  const again = await steme(['ingest', '-'], {input: exported.stdout})
  process.stdout.write(chalk.dim('(again) ') + again.stdout)
  $.cwd = path.join(tmp, 'alice')
  if (has('sync')) {
    $.cwd = bob
    await step('meanwhile bob learns something (in his store)', ['assert', 'drug:ibuprofen', 'max_daily_dose_mg', '3200', '--source', 'label:eu'])
    $.cwd = path.join(tmp, 'alice')
    await step('and alice too', ['assert', 'drug:aspirin', 'brand', 'Bayer'])
    await step('add bob as a remote', ['remote', 'add', 'bob', bob])
    await step('sync both ways with bob', ['sync', 'bob'])
  }
  if (has('verify')) {
    // Claims about a small repo: one holds, one is broken on purpose (exit 1 says so).
    const repo = path.join(tmp, 'service')
    fs.mkdirSync(repo)
    fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({name: 'service', version: '1.2.0', engines: {node: '>=20'}}, null, 2))
    fs.writeFileSync(path.join(repo, 'tsconfig.json'), JSON.stringify({compilerOptions: {strict: false}}, null, 2))
    fs.writeFileSync(
      path.join(repo, 'claims.toml'),
      `[[claim]]\nid = "node-20"\nsubject = "repo:package"\npredicate = "engines.node"\nexpect = ">=20"\nwhy = "we deploy on Node 20"\n\n` +
        `[[claim]]\nid = "tsconfig-strict"\nsubject = "repo:tsconfig"\npredicate = "compilerOptions.strict"\nexpect = true\nwhy = "strict mode catches null bugs"\n`,
    )
    $.cwd = repo
    await step('verify claims about a repo (one is broken on purpose)', ['verify', '--claims', 'claims.toml'], {expectExit: 1})
    $.cwd = path.join(tmp, 'alice')
  }
  console.log(chalk.green('\ndemo finished: every step behaved as expected'))
} finally {
  fs.rmSync(tmp, {recursive: true, force: true})
}
