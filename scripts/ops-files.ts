// `npm run ops:files`: writes ops/prometheus/alerts.yml and ops/grafana/silopool-dashboard.json from the code.
import { writeFileSync } from 'node:fs';
import { grafanaDashboard, prometheusRules } from '../src/control/ops-files.ts';

const root = new URL('..', import.meta.url);
writeFileSync(new URL('ops/prometheus/alerts.yml', root), prometheusRules());
writeFileSync(new URL('ops/grafana/silopool-dashboard.json', root), grafanaDashboard());
