import { Ajv } from 'ajv';
import { describe, expect, it, vi } from 'vitest';
import { listModels } from '../../src/models/registry.ts';
import { resolveInput, warmInputValidation } from '../../src/models/rules.ts';

describe('input validation warmed at start', () => {
  it("compiles every model's validators once, so a first submit without tenant rules compiles nothing", () => {
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    try {
      warmInputValidation(listModels());
      expect(compile.mock.calls.length).toBeGreaterThanOrEqual(listModels().length);
      compile.mockClear();
      for (const model of listModels()) {
        try {
          resolveInput(model, {}, {});
        } catch {
          // An empty input may miss required fields: what matters is what was compiled to say so.
        }
      }
      expect(compile).not.toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });
});
