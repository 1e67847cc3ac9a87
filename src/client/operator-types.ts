import type { Job, JobLogEntry, JobStatus, JobTimeline, Placement } from './types.ts';

// What the operator API answers: operations, releases, queues, usage, the advisor, metrics, alerts and
// jobs across tenants.

export interface Operation {
  id: string;
  kind: 'move' | 'apply' | 'offboard' | 'rollout' | 'onboard';
  tenantId: string;
  status: 'running' | 'succeeded' | 'failed';
  /** 0..1 */
  progress: number;
  steps: { name: string; status: 'pending' | 'running' | 'done' | 'failed'; detail?: string }[];
  error?: { code: string; message: string };
  /** Moves: from and to placements. */
  from?: string;
  to?: string;
  /** Offboardings: the export, once stored (downloadable while the removal steps still run). */
  export?: { url: string; bytes: number; jobs?: number; objects?: number };
  /** Offboardings: the final check that nothing of the tenant remains, once it ran. */
  check?: { checkedAt: string; remains: string[]; removedOnCheck: string[] };
  createdAt: string;
  updatedAt: string;
}

/** A release of model code (GET /v1/admin/releases): its model versions, tenants' variants, who runs it. */
export interface Release {
  id: string;
  current: boolean;
  description?: string;
  template?: string;
  models: Record<string, string>;
  variants: { name: string; model: string; tenantId: string; tenantIncarnation: string; version: string }[];
  tenants: string[];
}

/** An upgrade (a `rollout` operation): the release and its waves of tenant ids, canary first. */
export interface Rollout extends Operation {
  release: string;
  waves: string[][];
  /** How long each wave is watched, s. */
  observeSec?: number;
  /** Jobs each tenant must run on the release while watched, else its wave is unobserved. */
  minJobs?: number;
  /** The longest a wave is watched waiting for those jobs, s from its start. */
  maxObserveSec?: number;
}

export interface QueueDepth {
  queue: string;
  visible: number;
  inFlight: number;
  delayed: number;
  deadLetters: number;
}

export interface DeadLetter {
  messageId: string;
  body: unknown;
  receiveCount: number;
  sentAt: string;
}

export interface TenantUsage {
  tenantId: string;
  jobs: number;
  succeeded: number;
  failed: number;
  computeSeconds: number;
  storageBytes: number;
  costUsd: number;
}

/** `GET /v1/admin/usage`: every figure of jobs created in [`from`, `to`) (ISO instants), costs of that period. */
export interface UsageReport {
  from: string;
  to: string;
  items: TenantUsage[];
}

/** `GET /v1/admin/advisor`: where a tenant should run, why, and the monthly cost of each placement. */
export interface PlacementAdvice {
  tenantId: string;
  current: Placement;
  recommended: Placement;
  action: 'keep' | 'promote' | 'demote';
  reasons: string[];
  monthlyCostUsd: { shared: number; dedicated: number };
  deltaUsd: number;
  /** Why the platform refuses to make this tenant dedicated (its id, its contract region): never promoted. */
  cannotBeDedicated?: string;
}

/** `GET /v1/admin/metrics/history`: points of one metric, oldest first. */
export interface MetricsHistory {
  metric: string;
  title: string;
  unit: string;
  kind: 'gauge' | 'delta';
  tenantId?: string;
  from: string;
  to: string;
  points: { at: string; value: number }[];
}

export interface ActiveAlert {
  name: string;
  severity: 'warning' | 'critical';
  summary: string;
  runbook: string;
  tenantId?: string;
  value: number;
}

export interface AlertRule {
  name: string;
  severity: 'warning' | 'critical';
  summary: string;
  runbook: string;
  /** The PromQL of the same rule in ops/prometheus/alerts.yml. */
  expr: string;
  for: string;
}

export interface OperatorJobFilter {
  tenant?: string;
  model?: string;
  status?: JobStatus;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export interface OperatorJob {
  id: string;
  tenantId: string;
  tenantName: string;
  placement: Placement;
  model: string;
  status: JobStatus;
  attempts: number;
  createdAt: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

export interface TraceSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  pid: number;
  threadId: number;
  startMs: number;
  durationMs: number;
  status: number;
  /** What happened within the span; a step timed as an event has `silopool.duration_ms`. */
  events?: { name: string; atMs: number; attributes?: Record<string, unknown> }[];
}

export interface JobStoryView {
  job: Job;
  tenant: { id: string; name: string; placement: Placement };
  timeline: JobTimeline;
  logs: JobLogEntry[];
  spans: TraceSpan[];
}
