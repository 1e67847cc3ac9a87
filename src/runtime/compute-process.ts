import { getModel } from '../models/registry.ts';
import { WARM_EVENT } from './code-cache.ts';

// One process of the compute pool: runs parts of big model runs (simulation paths) at low priority.
interface Task {
  id: number;
  model: string;
  input: unknown;
  part: unknown;
}

let warm = false;
process.on('message', (task: Task) => {
  try {
    const parallel = getModel(task.model).parallel;
    if (!parallel) throw new Error(`Model "${task.model}" does not run in parts.`);
    process.send!({ id: task.id, result: parallel.runPart(task.input as never, task.part) });
  } catch (error) {
    process.send!({ id: task.id, error: String((error as Error)?.message ?? error) });
  }
  // Started from the prebuilt bundle: its code cache is written now, with what this part compiled.
  if (!warm) {
    warm = true;
    (process as NodeJS.EventEmitter).emit(WARM_EVENT);
  }
});
process.send!({ ready: true });
