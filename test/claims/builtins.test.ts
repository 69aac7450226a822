import {describe, expect, it} from 'vitest'
import {dockerfile, envFiles, nodeVersion, packageJson, tsconfig} from '../../src/claims/builtins.js'

const pick = (obs: {predicate: string; value: unknown; line?: number}[]) => Object.fromEntries(obs.map((o) => [o.predicate, o.value]))

describe('built-in extractors', () => {
  it('reads package.json name, version, engines and dependency versions', () => {
    const text = JSON.stringify({name: 'x', version: '1.2.3', engines: {node: '>=20'}, dependencies: {react: '^19'}, devDependencies: {'@types/node': '20.1.0'}}, null, 2)
    const obs = packageJson.extract('package.json', text)
    expect(obs.every((o) => o.subject === 'repo:package')).toBe(true)
    expect(pick(obs)).toEqual({name: 'x', version: '1.2.3', 'engines.node': '>=20', 'dependencies.react': '^19', 'devDependencies.@types/node': '20.1.0'})
    expect(obs.find((o) => o.predicate === 'version')!.line).toBe(3)
    expect(packageJson.extract('packages/a/package.json', text)[0].subject).toBe('repo:package:packages/a')
    expect(packageJson.wants('node_modules/x/package.json')).toBe(false)
  })

  it('reads tsconfig compilerOptions through comments and trailing commas', () => {
    const obs = tsconfig.extract('tsconfig.json', '{\n  // strict\n  "compilerOptions": {\n    "strict": true,\n  },\n}\n')
    expect(obs).toEqual([{subject: 'repo:tsconfig', predicate: 'compilerOptions.strict', value: true, file: 'tsconfig.json', line: 4, via: 'builtin:tsconfig'}])
    expect(tsconfig.wants('tsconfig.build.json')).toBe(true)
    expect(tsconfig.extract('tsconfig.build.json', '{"compilerOptions":{"strict":false}}')[0].subject).toBe('repo:tsconfig:tsconfig.build.json')
  })

  it('reads .nvmrc and .node-version', () => {
    expect(nodeVersion.extract('.nvmrc', '\n# lts\n20.11.1\n')).toMatchObject([{subject: 'repo:node', predicate: 'version', value: '20.11.1', line: 3}])
    expect(nodeVersion.wants('web/.node-version')).toBe(true)
  })

  it('reads Dockerfile base images, skipping references to earlier stages', () => {
    const obs = dockerfile.extract('Dockerfile', 'FROM --platform=linux/amd64 node:20 AS build\nRUN x\nFROM build AS test\nfrom gcr.io/distroless/nodejs20\n')
    expect(obs.filter((o) => o.predicate === 'image').map((o) => o.value)).toEqual(['node:20', 'gcr.io/distroless/nodejs20'])
    expect(obs.find((o) => o.predicate === 'base_image')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 4})
  })

  it('reads only real Dockerfile instructions: continuations joined, comments and heredoc bodies skipped', () => {
    const base = (text: string) => dockerfile.extract('Dockerfile', text).find((o) => o.predicate === 'base_image')
    // Continuation lines of a RUN are its arguments, never a FROM of their own.
    expect(base('FROM gcr.io/distroless/nodejs20\nRUN psql -c "SELECT 1 \\\n    FROM users"\n')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 1})
    expect(base('FROM node:20\nRUN apt-get install -y curl \\\n  # a comment inside\n\n  FROM gcr.io/distroless/static\n')).toMatchObject({value: 'node:20'})
    expect(base('FROM \\\n  gcr.io/distroless/nodejs20 \\\n  AS run\n')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 2})
    expect(base('# escape=`\nFROM node:20\nRUN echo `\n  FROM evil\n')).toMatchObject({value: 'node:20'})
    // Heredoc bodies, in every quoting, and two on one line.
    const heredocs = 'FROM node:20\nRUN <<EOF\nFROM a\nEOF\nCOPY <<-"X" <<\'Y\' /etc/\n\tFROM b\n\tX\nFROM c\nY\nRUN echo "<<EOF" && cat <<<here\nFROM d\n'
    expect(dockerfile.extract('Dockerfile', heredocs).filter((o) => o.predicate === 'image').map((o) => [o.value, o.line])).toEqual([['node:20', 1], ['d', 11]])
  })

  it('follows the final stage back through earlier stages to its external image', () => {
    const obs = dockerfile.extract('Dockerfile', 'FROM gcr.io/distroless/nodejs20 AS base\nFROM node:20 AS build\nFROM base AS mid\nFROM --platform=$BUILDPLATFORM MID\n')
    expect(obs.find((o) => o.predicate === 'base_image')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 1})
    expect(obs.filter((o) => o.predicate === 'image').map((o) => o.value)).toEqual(['gcr.io/distroless/nodejs20', 'node:20'])
  })

  it('observes .env files by presence, examples apart', () => {
    expect(envFiles.wants('config/.env.production')).toBe(true)
    expect(envFiles.wants('environment.ts')).toBe(false)
    expect(envFiles.extract('.env', '')[0]).toMatchObject({subject: 'repo:env', predicate: 'present', value: '.env'})
    expect(envFiles.extract('.env.example', '')[0].predicate).toBe('example_present')
  })
})
