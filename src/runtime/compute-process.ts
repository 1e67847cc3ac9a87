import { getModel } from '../models/registry.ts';

// One process of the compute pool: runs parts of big model runs (simulation paths) at low priority.
interface Task {
  id: number;
  model: string;
  input: unknown;
  part: unknown;
}

process.on('message', (task: Task) => {
  try {
    const parallel = getModel(task.model).parallel;
    if (!parallel) throw new Error(`Model "${task.model}" does not run in parts.`);
    process.send!({ id: task.id, result: parallel.runPart(task.input as never, task.part) });
  } catch (error) {
    process.send!({ id: task.id, error: String((error as Error)?.message ?? error) });
  }
});
process.send!({ ready: true });
