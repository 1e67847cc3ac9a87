/** Span attribute and baggage key of the tenant a span works for; on every span of a job. */
export const TENANT_ID_ATTR = 'silopool.tenant_id';
/** Span attribute and baggage key of the job a span works for. */
export const JOB_ID_ATTR = 'silopool.job_id';
/** The Node thread (`worker_threads.threadId`) that recorded a span: a resource attribute of each thread's provider. */
export const THREAD_ID_ATTR = 'thread.id';
