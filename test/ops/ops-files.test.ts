import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_RULES } from '../../src/control/alerts.ts';
import { DASHBOARD_PANELS, grafanaDashboard, prometheusRules } from '../../src/control/ops-files.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Syntax errors of a PromQL expression per Prometheus' own grammar (0 when it parses). */
function promqlErrors(expr: string): number {
  let errors = 0;
  parser.parse(expr.replaceAll('$tenant', '.*')).iterate({
    enter: (node) => {
      if (node.type.isError) errors++;
    },
  });
  return errors;
}

/** Every metric family the code exposes on /metrics, from its `# HELP` lines. */
function exposedFamilies(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(
          /# HELP (silopool_[a-z_]+)|'(silopool_[a-z_]+)',\s*'(?:gauge|counter|histogram)'/g,
        ))
          out.add((m[1] ?? m[2])!);
    }
  };
  walk(join(ROOT, 'src'));
  return out;
}

const allExprs = [...ALERT_RULES.map((r) => r.expr), ...DASHBOARD_PANELS.map((p) => p.expr)];

describe('shipped monitoring files (ops/)', () => {
  it('are what the code makes: run `npm run ops:files` after changing alert rules or panels', () => {
    expect(read('ops/prometheus/alerts.yml')).toBe(prometheusRules());
    expect(read('ops/grafana/silopool-dashboard.json')).toBe(grafanaDashboard());
  });

  it("parse as PromQL with Prometheus' grammar (a broken expression is caught)", () => {
    for (const expr of allExprs) expect(promqlErrors(expr), expr).toBe(0);
    expect(promqlErrors('sum by (tenant (rate(x[5m])')).toBeGreaterThan(0);
  });

  it('name only metric families the server exposes', () => {
    const families = exposedFamilies();
    expect(families.has('silopool_jobs_finished_total')).toBe(true);
    for (const expr of allExprs) {
      for (const [name] of expr.matchAll(/silopool_[a-z_]+/g)) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        expect(families.has(name) || families.has(family), `${name} in ${expr}`).toBe(true);
      }
    }
  });

  it('the Prometheus file is a rule group with severity and runbook on every alert', () => {
    const doc = parse(read('ops/prometheus/alerts.yml')) as {
      groups: {
        name: string;
        rules: {
          alert: string;
          expr: string;
          for: string;
          labels: { severity: string };
          annotations: { runbook: string };
        }[];
      }[];
    };
    expect(doc.groups[0]!.rules.map((r) => r.alert)).toEqual(ALERT_RULES.map((r) => r.name));
    for (const rule of doc.groups[0]!.rules) {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.for).toMatch(/^\d+m$/);
      expect(rule.annotations.runbook).toMatch(/^docs\/operations\.md#/);
    }
  });

  it('every runbook link points at a heading of docs/operations.md', () => {
    const anchors = new Set(
      read('docs/operations.md')
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .map((l) =>
          l
            .replace(/^#+\s*/, '')
            .toLowerCase()
            .replace(/[^a-z0-9 -]/g, '')
            .replaceAll(' ', '-'),
        ),
    );
    for (const rule of ALERT_RULES) {
      const anchor = rule.runbook.match(/#([a-z0-9-]+)/)![1]!;
      expect(anchors.has(anchor), `${rule.name} → #${anchor}`).toBe(true);
    }
  });

  it('the Grafana dashboard filters every panel by the $tenant variable, except platform-wide ones', () => {
    const dashboard = JSON.parse(read('ops/grafana/silopool-dashboard.json')) as {
      templating: { list: { name: string }[] };
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['tenant']);
    for (const panel of dashboard.panels) {
      const expr = panel.targets[0]!.expr;
      if (!expr.includes('data_dir')) expect(expr, panel.title).toContain('tenant=~"$tenant"');
    }
  });
});
