import {Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {StemeCommand} from '../command.js'
import {isLoopback} from '../loopback.js'
import {UserError} from '../core/errors.js'
import {threadsFlag} from '../threads-flag.js'
import {plural} from '../core/words.js'

export default class Serve extends StemeCommand {
  static summary = 'Run the HTTP daemon for a team: the same operations as the CLI, under /v1, with bearer tokens'
  static description = `Holds the store (DuckDB admits one writer process); local steme commands on this machine
go through the daemon automatically. Create tokens with \`steme serve token create\`.
On a TTY shows a live status line; in a pipe logs JSON lines. SIGTERM or Ctrl-C finishes the
requests in flight, then closes the store. See docs/serve.md.`
  static examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --host 0.0.0.0 --port 7411 --tls-cert cert.pem --tls-key key.pem',
    '<%= config.bin %> serve --allow-agent <64 hex> --rate-limit 600',
  ]
  static flags = {
    host: Flags.string({description: 'address to bind (0.0.0.0 for every interface; use TLS then)', default: '127.0.0.1'}),
    port: Flags.integer({char: 'p', description: 'port to listen on (0 picks a free one)', default: 7411, min: 0, max: 65535}),
    'tls-cert': Flags.string({description: 'PEM certificate chain: serve HTTPS', dependsOn: ['tls-key']}),
    'tls-key': Flags.string({description: 'PEM private key of --tls-cert', dependsOn: ['tls-cert']}),
    'body-limit': Flags.integer({description: 'largest request body, MiB', default: 32, min: 1}),
    'rate-limit': Flags.integer({description: 'requests per minute per token (0: no limit)', default: 60_000, min: 0}),
    timeout: Flags.integer({description: 'seconds allowed to receive a request', default: 30, min: 1}),
    'max-connections': Flags.integer({description: 'open connections at most; past it new ones are closed unanswered, logged and counted (0: no limit; default: config serve.max_connections, else 512)', min: 0}),
    'allow-agent': Flags.string({description: 'accept records only from this agent key (repeatable; default: config serve.allow_agents, else any)', multiple: true}),
    threads: threadsFlag('signature verification worker threads (default: one per core)', {min: 0}),
    'db-threads': threadsFlag('DuckDB worker threads: lookups answer fastest on one; raise it for a daemon that serves large scans (conflicts, log)', {default: 1, min: 1}),
    'log-level': Flags.string({description: 'JSON log level when not on a TTY (info logs every request); on a TTY warnings and errors are printed above the status line (error or silent print fewer)', options: ['debug', 'info', 'warn', 'error', 'silent'], default: 'info'}),
  }

  async run(): Promise<{url: string; requests: number; stored: number; rejected: number}> {
    const {flags} = await this.parse(Serve)
    const [{createServer, DEFAULTS}, {TokenFile, newTokenText}, state] = await Promise.all([import('../serve/app.js'), import('../serve/tokens.js'), import('../serve/state.js')])
    // Checked before the store is opened, so a bad PEM is a config error and nothing is left running.
    const https = flags['tls-cert'] ? await readTls(flags['tls-cert'], flags['tls-key']!) : undefined
    const rt = await this.open({store: flags.store, dbThreads: flags['db-threads']}).catch((e: unknown) => {
      throw alreadyServed(e)
    })
    const dir = state.stateDir(rt.location)
    if (!dir) {
      await rt.close().catch(() => undefined)
      throw new UserError(`steme serve needs a store on disk (its tokens and state live in the .steme directory), not ${rt.store.location}`, {code: 'config', hint: state.URL_STORE_NO_DAEMON})
    }
    const allow = flags['allow-agent'] ?? configuredAgents(rt.config.raw)
    for (const a of allow ?? []) if (!/^[0-9a-f]{64}$/.test(a)) throw new UserError(`--allow-agent ${a} is not an agent key (64 lowercase hex)`)
    // Read before the daemon listens: a token file that is not one ends the command here, rather
    // than after serve.json names a daemon that then never serves (its store already closed).
    const tokens = TokenFile.forStateDir(dir)
    const anyToken = tokens.list().some((t) => !t.revoked)
    const tty = this.liveTerminal()
    // On a terminal the log's warnings and errors (a 500 and its request id, refused connections)
    // are printed as lines: without them the request id a client is told to look up is nowhere.
    const terminal = tty ? (await import('../serve/terminal-log.js')).terminalLog() : undefined
    const sessionToken = newTokenText()
    const server = await createServer({
      deps: rt,
      tokens,
      sessionTokens: new Map([[sessionToken, {tokenId: 'local', name: 'local commands', role: 'write' as const}]]),
      bodyLimit: flags['body-limit'] * 1024 * 1024,
      rateLimit: flags['rate-limit'],
      requestTimeout: flags.timeout * 1000,
      maxConnections: flags['max-connections'] ?? configuredMaxConnections(rt.config.raw),
      allowAgents: allow,
      threads: flags.threads,
      https,
      logger: terminal ? {level: terminalLevel(flags['log-level']), stream: terminal.stream} : {level: flags['log-level']},
    })
    // A terminal that hangs up (the ssh session drops, the window closes) sends SIGHUP, and every
    // later write to it fails (EIO, or EPIPE for a pipe): either would end the daemon, the second
    // as an unhandled 'error' on stderr. A daemon serves on; it only stops drawing its status line.
    // Caught from before it listens: serve.json announces it, and a SIGHUP from then on must not end it.
    let status: ReturnType<typeof import('../ui/serve-status.js').startServeStatus> | undefined
    let hungUp = false
    const hangUp = () => {
      if (hungUp) return
      hungUp = true
      status?.stop()
      terminal?.printVia(() => undefined)
    }
    process.stderr.on('error', hangUp)
    const onHup = () => {
      if (tty) hangUp()
      else server.app.log.warn('SIGHUP: serving on (SIGTERM or SIGINT stops the daemon)')
    }
    process.on('SIGHUP', onHup)
    let url: string
    try {
      url = await server.app.listen({host: flags.host, port: flags.port})
    } catch (e) {
      await server.close()
      const code = (e as NodeJS.ErrnoException).code
      throw new UserError(`cannot listen on ${flags.host}:${flags.port}: ${code ?? (e as Error).message}`, {code: 'config', hint: code === 'EADDRINUSE' ? 'another process uses that port: pick another with --port' : 'check --host and --port'})
    }
    state.writeServeState(dir, {url, pid: process.pid, token: sessionToken, started: new Date().toISOString(), store: rt.location.url})
    // Said once at start, where the person who started it looks: on the terminal, or in the log.
    const warn = (msg: string) => (tty ? this.note(`note: ${msg}`) : server.app.log.warn(msg))
    const {blockedPortNote, fetchBlocksPort} = await import('../fetch-ports.js')
    if (fetchBlocksPort(flags.port)) warn(blockedPortNote(flags.port, '--port'))
    const files = openFilesLimit()
    const maxConnections = flags['max-connections'] ?? configuredMaxConnections(rt.config.raw) ?? DEFAULTS.maxConnections
    if (files !== undefined && (maxConnections === 0 || maxConnections + FILES_HEADROOM > files)) {
      warn(`this process may open at most ${files} files, and each connection takes one: connections past about ${Math.max(0, files - FILES_HEADROOM)} fail unseen before ${maxConnections === 0 ? 'any limit' : `--max-connections (${maxConnections})`} refuses them; raise the limit (ulimit -n) or lower --max-connections`)
    }
    if (!https && !isLoopback(flags.host)) warn(`serving plain HTTP on ${flags.host}: tokens cross the network in clear text; give --tls-cert and --tls-key`)
    if (!anyToken) {
      warn('no tokens yet, so only commands on this machine can use the daemon: create one for each client with `steme serve token create --role read|write|admin --name <who>`')
    }
    // A terminal that hung up while it started gets no status line.
    status = tty && !hungUp ? (await import('../ui/serve-status.js')).startServeStatus(url, server.metrics.totals) : undefined
    if (!hungUp) terminal?.printVia(status?.print)
    if (!tty) server.app.log.info({url, store: rt.location.url, allowAgents: allow?.length ?? 'any'}, 'steme serve ready')
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve)
      process.once('SIGINT', resolve)
    })
    if (!hungUp) status?.stop()
    // Warnings of the shutdown itself (connections dropped after the grace period) follow the status line.
    if (!hungUp) terminal?.printVia(undefined)
    if (!tty) server.app.log.info('shutting down: finishing requests in flight')
    try {
      await server.close()
    } finally {
      state.removeServeState(dir)
    }
    const {requests, stored, rejected} = server.metrics.totals
    if (tty) this.note(`stopped: ${plural(requests, 'request')}, ${plural(stored, 'record')} stored, ${rejected} rejected`)
    else server.app.log.info({requests, stored, rejected}, 'stopped')
    return {url, requests, stored, rejected}
  }
}

/** What a terminal shows of the log: warnings and errors, or fewer when --log-level asks for error or silent. */
const terminalLevel = (level: string): string => (level === 'error' || level === 'silent' ? level : 'warn')

/**
 * The store is held by a daemon already: the lock error's hint is for commands that can go
 * through it, which a second daemon cannot. Its clients can use the one that runs.
 */
function alreadyServed(e: unknown): unknown {
  if (!(e instanceof UserError) || e.code !== 'locked') return e
  const held = /is held by `steme serve` \(pid (\d+), (\S+)\)$/.exec(e.message)
  if (!held) return e
  const [, pid, url] = held
  return new UserError(`${e.message}: this store is served already`, {
    code: 'locked',
    exit: 1,
    hint: `clients can use that daemon (\`--remote ${url}\`, with a token from \`steme serve token create\`); to serve the store on another address or with other flags, stop it first: kill -TERM ${pid}`,
    cause: e,
  })
}

/** Files the daemon keeps open besides its connections (the store, its WAL, worker threads, logs), with room to spare. */
const FILES_HEADROOM = 64

/** The process's soft limit on open files, where the system says it (Linux); undefined elsewhere or when unlimited. */
function openFilesLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** `[serve] max_connections`, checked when the config was read; undefined when not set. */
function configuredMaxConnections(raw: Record<string, unknown>): number | undefined {
  const v = ((raw.serve ?? {}) as Record<string, unknown>).max_connections
  return typeof v === 'number' ? v : undefined
}

function configuredAgents(raw: Record<string, unknown>): string[] | undefined {
  const serve = (raw.serve ?? {}) as Record<string, unknown>
  return Array.isArray(serve.allow_agents) ? serve.allow_agents.filter((x): x is string => typeof x === 'string') : undefined
}

function readPem(path: string, flag: '--tls-cert' | '--tls-key'): Buffer {
  try {
    return readFileSync(path)
  } catch (e) {
    // The system's reason in words ("no such file or directory"), not its code alone.
    const reason = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
    throw new UserError(`cannot read ${flag} ${path}: ${reason}`, {code: 'config', hint: 'pass PEM files to --tls-cert and --tls-key'})
  }
}

/** The certificate and key, checked as TLS will use them: each must be PEM of its kind, and the key must be the certificate's. */
async function readTls(certPath: string, keyPath: string): Promise<{cert: Buffer; key: Buffer}> {
  const cert = readPem(certPath, '--tls-cert')
  const key = readPem(keyPath, '--tls-key')
  const {X509Certificate, createPrivateKey} = await import('node:crypto')
  const {createSecureContext} = await import('node:tls')
  const hint = 'pass PEM files to --tls-cert and --tls-key: the certificate chain (BEGIN CERTIFICATE) and its unencrypted private key (BEGIN PRIVATE KEY)'
  const why = (e: unknown) => ((e as Error).message ?? String(e)).replace(/^error:[0-9A-F]+:/, '')
  try {
    new X509Certificate(cert)
  } catch (e) {
    throw new UserError(`--tls-cert ${certPath} is not a PEM certificate (${why(e)})`, {code: 'config', hint})
  }
  try {
    createPrivateKey(key)
  } catch (e) {
    throw new UserError(`--tls-key ${keyPath} is not a usable PEM private key (${why(e)})`, {code: 'config', hint})
  }
  try {
    createSecureContext({cert, key})
  } catch (e) {
    const msg = why(e)
    if (/key values mismatch/i.test(msg)) throw new UserError(`--tls-key ${keyPath} does not match the certificate in --tls-cert ${certPath}`, {code: 'config', hint: 'pass the private key the certificate was made for'})
    throw new UserError(`--tls-cert ${certPath} and --tls-key ${keyPath} cannot be used for TLS (${msg})`, {code: 'config', hint})
  }
  return {cert, key}
}
