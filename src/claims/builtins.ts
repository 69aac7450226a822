/** Built-in extractors for common files: package.json, tsconfig, .nvmrc/.node-version, Dockerfiles, .env files. */
import type {Json} from '../core/record.js'
import type {Observation} from './observation.js'
import {expand, fromOf, globalArgs, instructions} from './dockerfile.js'
import {lineOfPath, stripJsonc} from './path.js'

export interface Builtin {
  name: string
  /** Does this extractor want the file (by its repo-relative path)? */
  wants(path: string): boolean
  /** False when the file's presence is the observation and its content is never read. */
  reads: boolean
  /** `warn` says why something the file holds is not observed. */
  extract(path: string, text: string, warn?: (message: string) => void): Observation[]
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1)
const dir = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '')
/** `repo:<kind>` for the file at the root, `repo:<kind>:<where>` elsewhere, so monorepos keep packages apart. */
const subjectFor = (kind: string, where: string) => (where ? `repo:${kind}:${where}` : `repo:${kind}`)
const inVendor = (p: string) => p.startsWith('node_modules/') || p.includes('/node_modules/')

const DEP_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const

export const packageJson: Builtin = {
  name: 'package.json',
  reads: true,
  wants: (p) => base(p) === 'package.json' && !inVendor(p),
  extract(path, text) {
    const doc = JSON.parse(text) as Record<string, unknown>
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return []
    const subject = subjectFor('package', dir(path))
    const out: Observation[] = []
    const add = (predicate: string, value: unknown, keyPath: string[]) => {
      if (value === undefined) return
      out.push({subject, predicate, value: value as Json, file: path, line: lineOfPath(text, keyPath), via: 'builtin:package.json'})
    }
    for (const k of ['name', 'version', 'type', 'license', 'private', 'packageManager']) add(k, doc[k], [k])
    const engines = doc.engines
    if (engines && typeof engines === 'object') for (const [k, v] of Object.entries(engines)) add(`engines.${k}`, v, ['engines', k])
    for (const f of DEP_FIELDS) {
      const deps = doc[f]
      if (deps && typeof deps === 'object') for (const [k, v] of Object.entries(deps)) add(`${f}.${k}`, v, [f, k])
    }
    return out
  },
}

export const tsconfig: Builtin = {
  name: 'tsconfig',
  reads: true,
  wants: (p) => /^tsconfig(\..+)?\.json$/.test(base(p)) && !inVendor(p),
  extract(path, text) {
    const doc = JSON.parse(stripJsonc(text)) as Record<string, unknown>
    if (!doc || typeof doc !== 'object') return []
    const subject = path === 'tsconfig.json' ? 'repo:tsconfig' : subjectFor('tsconfig', path)
    const out: Observation[] = []
    if (typeof doc.extends === 'string' || Array.isArray(doc.extends)) out.push({subject, predicate: 'extends', value: doc.extends as Json, file: path, line: lineOfPath(text, ['extends']), via: 'builtin:tsconfig'})
    const opts = doc.compilerOptions
    if (opts && typeof opts === 'object') {
      for (const [k, v] of Object.entries(opts)) {
        out.push({subject, predicate: `compilerOptions.${k}`, value: v as Json, file: path, line: lineOfPath(text, ['compilerOptions', k]), via: 'builtin:tsconfig'})
      }
    }
    return out
  },
}

export const nodeVersion: Builtin = {
  name: 'node-version',
  reads: true,
  wants: (p) => base(p) === '.nvmrc' || base(p) === '.node-version',
  extract(path, text) {
    const lines = text.split('\n')
    const i = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    if (i < 0) return []
    return [{subject: subjectFor('node', dir(path)), predicate: 'version', value: lines[i].trim(), file: path, line: i + 1, via: `builtin:${base(path)}`}]
  },
}

export const dockerfile: Builtin = {
  name: 'dockerfile',
  reads: true,
  wants: (p) => /^(Dockerfile|Containerfile)(\..+)?$/.test(base(p)) || /\.(Dockerfile|dockerfile)$/.test(base(p)),
  extract(path, text, warn) {
    const subject = path === 'Dockerfile' ? 'repo:docker' : subjectFor('docker', path)
    const all = instructions(text)
    const args = globalArgs(all)
    // Each stage's external image, following `FROM <earlier stage>` back to where the chain leaves the file.
    // A stage whose image is not known offline maps to undefined, and so does every stage built on it.
    const stages = new Map<string, {image: string; line: number} | undefined>()
    const images: {image: string; line: number}[] = []
    let last: {image: string; line: number} | undefined
    for (const ins of all) {
      if (ins.keyword !== 'FROM') continue
      const from = fromOf(ins)
      if (!from) continue
      // `FROM node:${NODE}` names the image the ARG's default gives; one a --build-arg would give is not guessed.
      const x = expand(from.image, args, ins.escape)
      let resolved: {image: string; line: number} | undefined
      if ('unknown' in x || x.value === '') warn?.(`${path}:${from.line}: FROM ${from.image}: ${'unknown' in x ? x.unknown : 'it expands to nothing'}: skipped`)
      else if (stages.has(x.value.toLowerCase())) resolved = stages.get(x.value.toLowerCase())
      else {
        // The line reported is that of the FROM naming the external image (for a stage built on an
        // earlier stage, that stage's FROM), and within it the line the image name is written on.
        resolved = {image: x.value, line: from.line}
        images.push(resolved)
      }
      if (from.stage) stages.set(from.stage.toLowerCase(), resolved)
      last = resolved
    }
    const out: Observation[] = []
    if (last) out.push({subject, predicate: 'base_image', value: last.image, file: path, line: last.line, via: 'builtin:dockerfile'})
    for (const im of images) out.push({subject, predicate: 'image', value: im.image, file: path, line: im.line, via: 'builtin:dockerfile'})
    return out
  },
}

const ENV_EXAMPLE = /\.(example|sample|template|dist|defaults)$/

export const envFiles: Builtin = {
  name: 'env-files',
  reads: false,
  wants: (p) => /^\.env(\..+)?$/.test(base(p)),
  extract(path) {
    const predicate = ENV_EXAMPLE.test(base(path)) ? 'example_present' : 'present'
    return [{subject: 'repo:env', predicate, value: path, file: path, via: 'builtin:env-files'}]
  },
}

export const BUILTINS: readonly Builtin[] = [packageJson, tsconfig, nodeVersion, dockerfile, envFiles]
