import { describe, expect, it } from 'vitest';
import { lambdaMemoryMb } from '../../src/entry/lambda-memory.ts';

// The model Lambda records the memory it runs with on each job (compute is billed at it): Lambda gives it
// as the context's `memoryLimitInMB`, a string, and as AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
describe('the memory of a Lambda function', () => {
  it("is its context's memoryLimitInMB", () => {
    expect(lambdaMemoryMb({ memoryLimitInMB: '1024' }, {})).toBe(1024);
    expect(lambdaMemoryMb({ memoryLimitInMB: '1769' }, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBe(
      1769,
    );
  });

  it('falls back to AWS_LAMBDA_FUNCTION_MEMORY_SIZE, then to none (billed at the default size)', () => {
    expect(lambdaMemoryMb(undefined, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' })).toBe(2048);
    expect(lambdaMemoryMb({} as never, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' })).toBe(2048);
    for (const bad of ['', 'lots', '0', '-128', '1.5', '1e3'])
      expect(lambdaMemoryMb({ memoryLimitInMB: bad }, {})).toBeUndefined();
    expect(lambdaMemoryMb(undefined, {})).toBeUndefined();
  });
});
