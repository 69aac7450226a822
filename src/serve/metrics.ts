/** Prometheus metrics of one daemon, in its own registry (no process-wide singletons). */
import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from 'prom-client'

export interface Metrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  latency: Histogram<'route' | 'method'>
  recordsStored: Counter
  recordsRejected: Counter
  syncSessions: Counter<'direction'>
  syncActive: Gauge
  sseClients: Gauge
  connectionsOpen: Gauge
  connectionsRefused: Counter
  /** Running totals the console status line shows. */
  totals: {requests: number; stored: number; rejected: number; syncing: number; refused: number}
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({register: registry, prefix: 'steme_'})
  const totals = {requests: 0, stored: 0, rejected: 0, syncing: 0, refused: 0}
  return {
    registry,
    totals,
    requests: new Counter({name: 'steme_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry]}),
    latency: new Histogram({
      name: 'steme_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    recordsStored: new Counter({name: 'steme_records_stored_total', help: 'Records newly stored through this daemon', registers: [registry]}),
    recordsRejected: new Counter({name: 'steme_records_rejected_total', help: 'Records refused by validation (bad id, signature, shape, skew, allowlist), posted or pushed by sync', registers: [registry]}),
    syncSessions: new Counter({name: 'steme_sync_sessions_total', help: 'Sync sessions served', labelNames: ['direction'], registers: [registry]}),
    syncActive: new Gauge({name: 'steme_sync_sessions_active', help: 'Sync sessions in progress', registers: [registry]}),
    sseClients: new Gauge({name: 'steme_events_clients', help: 'Connected /v1/events subscribers', registers: [registry]}),
    connectionsOpen: new Gauge({name: 'steme_http_connections_open', help: 'Open client connections (event streams and idle keep-alive ones included)', registers: [registry]}),
    connectionsRefused: new Counter({name: 'steme_http_connections_refused_total', help: 'Connections closed unanswered because --max-connections were open', registers: [registry]}),
  }
}

/** Records refused by validation, from whichever route brought them (POST /v1/records, a sync push). */
export function countRejected(m: Metrics, n: number): void {
  m.recordsRejected.inc(n)
  m.totals.rejected += n
}
