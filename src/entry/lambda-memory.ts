import type { Context } from 'aws-lambda';
import { memorySizeOf } from '../core/attempt-time.ts';

/**
 * The memory (MB) this Lambda function runs with: its context's `memoryLimitInMB` (a string, the
 * function's configured memory), else the runtime's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; undefined when
 * neither is a whole positive number (the job is then billed at the default size).
 */
export function lambdaMemoryMb(
  context: Pick<Context, 'memoryLimitInMB'> | undefined,
  env: Record<string, string | undefined>,
): number | undefined {
  return (
    memorySizeOf(numberOf(context?.memoryLimitInMB)) ??
    memorySizeOf(numberOf(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE))
  );
}

function numberOf(text: unknown): number | undefined {
  return typeof text === 'string' && /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}
