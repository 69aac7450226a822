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

  it('observes .env files by presence, examples apart', () => {
    expect(envFiles.wants('config/.env.production')).toBe(true)
    expect(envFiles.wants('environment.ts')).toBe(false)
    expect(envFiles.extract('.env', '')[0]).toMatchObject({subject: 'repo:env', predicate: 'present', value: '.env'})
    expect(envFiles.extract('.env.example', '')[0].predicate).toBe('example_present')
  })
})
