// Which resources of a template a stack holds (their Condition holds), what each depends on, and the order
// to create them in; deletion walks that order backwards.
import { validation } from './errors.ts';
import { isActive, type Scope } from './intrinsics.ts';
import { dependsOn, references, type Template } from './template.ts';

/** Active resources of a template in creation order, and what each depends on. */
export interface Plan {
  order: string[];
  deps: Map<string, Set<string>>;
}

export function planResources(template: Template, scope: Scope): Plan {
  const active = Object.entries(template.Resources)
    .filter(([, r]) => isActive(r.Condition, scope))
    .map(([id]) => id);
  const activeSet = new Set(active);
  const deps = new Map<string, Set<string>>();
  for (const id of active) {
    const resource = template.Resources[id]!;
    const all = references(resource.Properties, new Set(dependsOn(resource)));
    deps.set(id, new Set([...all].filter((dep) => activeSet.has(dep) && dep !== id)));
  }
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < active.length) {
    const next = active.find((id) => !placed.has(id) && [...deps.get(id)!].every((dep) => placed.has(dep)));
    if (!next) {
      const cycle = active.filter((id) => !placed.has(id));
      throw validation(`Circular dependency between resources: [${cycle.join(', ')}]`);
    }
    order.push(next);
    placed.add(next);
  }
  return { order, deps };
}

/** Everything `id` depends on, directly or not, added to `out`. */
export function dependenciesOf(id: string, plan: Plan, out = new Set<string>()): Set<string> {
  for (const dep of plan.deps.get(id) ?? []) {
    if (!out.has(dep)) {
      out.add(dep);
      dependenciesOf(dep, plan, out);
    }
  }
  return out;
}
