import { type FormEvent, useEffect, useId, useState } from 'react';
import type {
  FunctionSettings,
  Plan,
  Tenant,
  TenantConfig,
  TenantLimits,
  TenantStatus,
} from '../../../src/client/index.ts';
import { DEFAULT_PLAN, ProblemError } from '../../../src/client/index.ts';
import { Field, SelectField } from '../ui/Field.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';

const PLANS: Plan[] = ['free', 'standard', 'enterprise'];
const STATUSES: TenantStatus[] = ['active', 'suspended', 'offboarding'];
const LIMITS: { key: Exclude<keyof TenantLimits, 'models'>; label: string; step: string }[] = [
  { key: 'maxRunningJobs', label: 'Max running jobs', step: '1' },
  { key: 'maxQueuedJobs', label: 'Max queued jobs', step: '1' },
  { key: 'submitRatePerSec', label: 'Submit rate (per second)', step: 'any' },
  { key: 'submitBurst', label: 'Submit burst', step: '1' },
  { key: 'weight', label: 'Scheduling weight', step: 'any' },
  { key: 'jobTimeoutSec', label: 'Job time limit (s)', step: '1' },
  { key: 'maxJobCost', label: 'Max job cost (units)', step: 'any' },
];
const FUNCTION: { key: keyof FunctionSettings; label: string; help: string }[] = [
  { key: 'reservedConcurrency', label: 'Reserved concurrency', help: 'Jobs its functions run at once.' },
  { key: 'memoryMb', label: 'Memory (MB)', help: '128–10240.' },
  { key: 'timeoutSec', label: 'Timeout (s)', help: 'A longer run is stopped and retried; up to 900.' },
  {
    key: 'idleTimeoutSec',
    label: 'Idle timeout (s)',
    help: 'A local function stops this long after its last job.',
  },
];
const FORMATTING = [
  { key: 'companyName', label: 'Company name', help: 'Printed in the workbook header.' },
  { key: 'currency', label: 'Currency', help: 'ISO 4217 code, e.g. EUR.' },
  { key: 'locale', label: 'Locale', help: 'BCP 47 tag, e.g. de-DE.' },
  { key: 'dateFormat', label: 'Date format', help: 'Excel date format, e.g. dd.mm.yyyy.' },
  { key: 'brandColor', label: 'Brand colour', help: 'Hex without #, e.g. 1F4E79.' },
] as const;

export interface TenantFormValue {
  id: string;
  name: string;
  plan: Plan;
  status: TenantStatus;
  placement: 'shared' | 'dedicated';
  config: TenantConfig;
}

interface Props {
  initial?: Tenant;
  submitLabel: string;
  onSubmit(value: TenantFormValue): Promise<void>;
}

/** Creates or edits a tenant: identity, plan, formatting, limits and per-model rules (as JSON). */
export function TenantForm({ initial, submitLabel, onSubmit }: Props) {
  const creating = !initial;
  const [id, setId] = useState(initial?.id ?? '');
  const [name, setName] = useState(initial?.name ?? '');
  const [plan, setPlan] = useState<Plan>(initial?.plan ?? DEFAULT_PLAN);
  const [status, setStatus] = useState<TenantStatus>(initial?.status ?? 'active');
  const [placement, setPlacement] = useState<'shared' | 'dedicated'>(initial?.placement ?? 'shared');
  const [formatting, setFormatting] = useState<Record<string, string>>(
    Object.fromEntries(FORMATTING.map((f) => [f.key, String(initial?.config.formatting[f.key] ?? '')])),
  );
  const [limits, setLimits] = useState<Record<string, string>>(
    Object.fromEntries(LIMITS.map((l) => [l.key, String(initial?.config.limits[l.key] ?? '')])),
  );
  const initialFunction = Object.fromEntries(
    FUNCTION.map((f) => [f.key, String(initial?.config.function?.[f.key] ?? '')]),
  );
  const [fn, setFn] = useState<Record<string, string>>(initialFunction);
  const [rules, setRules] = useState(JSON.stringify(initial?.config.rules ?? {}, null, 2));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const rulesId = useId();
  const problemId = useId();
  // A refused save leaves the user at the button at the bottom: move them to what to change.
  useEffect(() => {
    if (!problem) return;
    const banner = document.getElementById(problemId);
    banner?.focus();
    banner?.scrollIntoView({ block: 'start' });
  }, [problem, problemId]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    // What the browser can tell at once, named by the field ("Name is required"); focus goes to the first.
    const missing: Record<string, string> = {};
    if (creating && !id.trim()) missing['/id'] = 'Tenant id is required';
    if (!name.trim()) missing['/name'] = 'Name is required';
    if (Object.keys(missing).length > 0) {
      setErrors(missing);
      requestAnimationFrame(() =>
        (event.target as HTMLFormElement).querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(),
      );
      return;
    }
    let parsedRules: TenantConfig['rules'];
    try {
      parsedRules = JSON.parse(rules || '{}') as TenantConfig['rules'];
    } catch (e) {
      setErrors({ '/config/rules': `Rules must be JSON: ${(e as Error).message}` });
      document.getElementById(rulesId)?.focus();
      return;
    }
    const config: TenantConfig = {
      rules: parsedRules,
      // Empty fields mean "use the plan's default", so they are left out rather than sent as "". Settings
      // this form does not show (logo, sheet names, number format) are sent back as they were, not dropped.
      formatting: {
        ...Object.fromEntries(
          Object.entries(initial?.config.formatting ?? {}).filter(
            ([k]) => !FORMATTING.some((f) => f.key === k),
          ),
        ),
        ...Object.fromEntries(Object.entries(formatting).filter(([, v]) => v.trim() !== '')),
      },
      // Per-model limits (`limits.models`) are set through the API; this form keeps them as they were.
      limits: {
        ...numbers(limits),
        ...(initial?.config.limits.models ? { models: initial.config.limits.models } : {}),
      },
      // Only when changed: on AWS new function settings update the tenant's stack.
      ...(JSON.stringify(fn) !== JSON.stringify(initialFunction) ? { function: numbers(fn) } : {}),
    };
    setErrors({});
    setSaving(true);
    try {
      await onSubmit({ id, name, plan, status, placement, config });
    } catch (e) {
      setProblem(e);
      if (e instanceof ProblemError) {
        setErrors(Object.fromEntries((e.problem.errors ?? []).map((x) => [x.path, x.message])));
      }
    } finally {
      setSaving(false);
    }
  };

  const rulesError = Object.entries(errors).find(([path]) => path.startsWith('/config/rules'))?.[1];
  return (
    <form className="tenant-form" onSubmit={submit} noValidate>
      <ProblemBanner error={problem} id={problemId} labelOf={labelOf} />
      <fieldset>
        <legend>Tenant</legend>
        {creating ? (
          <Field
            label="Tenant id"
            value={id}
            onChange={(e) => setId(e.target.value)}
            required
            pattern="[a-z0-9][a-z0-9-]{1,62}"
            help="Lowercase letters, digits and dashes; 2–63 characters. It cannot change later."
            error={errors['/id']}
          />
        ) : null}
        <Field
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          error={errors['/name']}
        />
        <SelectField
          label="Plan"
          value={plan}
          options={PLANS}
          onChange={(v) => setPlan(v as Plan)}
          error={errors['/plan']}
        />
        {creating ? (
          <SelectField
            label="Placement"
            value={placement}
            options={['shared', 'dedicated']}
            onChange={(v) => setPlacement(v as 'shared' | 'dedicated')}
            help="Shared: one queue and function per model for all tenants. Dedicated: the tenant's own."
            error={errors['/placement']}
          />
        ) : (
          <SelectField
            label="Status"
            value={status}
            options={STATUSES}
            onChange={(v) => setStatus(v as TenantStatus)}
            error={errors['/status']}
          />
        )}
      </fieldset>
      <fieldset>
        <legend>Workbook formatting</legend>
        {FORMATTING.map((f) => (
          <Field
            key={f.key}
            label={f.label}
            help={f.help}
            value={formatting[f.key] ?? ''}
            onChange={(e) => setFormatting({ ...formatting, [f.key]: e.target.value })}
            error={errors[`/config/formatting/${f.key}`]}
          />
        ))}
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        <p className="help">Leave a limit empty to use the plan's default.</p>
        {LIMITS.map((l) => (
          <Field
            key={l.key}
            label={l.label}
            type="number"
            min="0"
            step={l.step}
            inputMode="decimal"
            value={limits[l.key] ?? ''}
            onChange={(e) => setLimits({ ...limits, [l.key]: e.target.value })}
            error={errors[`/config/limits/${l.key}`]}
          />
        ))}
      </fieldset>
      <fieldset>
        <legend>Dedicated functions</legend>
        <p className="help">Used while the tenant is dedicated. Leave empty for the defaults.</p>
        {FUNCTION.map((f) => (
          <Field
            key={f.key}
            label={f.label}
            help={f.help}
            type="number"
            min="0"
            step="1"
            inputMode="numeric"
            value={fn[f.key] ?? ''}
            onChange={(e) => setFn({ ...fn, [f.key]: e.target.value })}
            error={errors[`/config/function/${f.key}`]}
          />
        ))}
      </fieldset>
      <fieldset>
        <legend>Model rules</legend>
        <div className={`field${rulesError ? ' field-invalid' : ''}`}>
          <label htmlFor={rulesId}>Rules by model (JSON)</label>
          <p className="help" id={`${rulesId}-help`}>
            For each model: <code>defaults</code>, <code>fixed</code> (hidden from the tenant's form),{' '}
            <code>ranges</code> by dotted path and <code>rounding</code>. Example:{' '}
            <code>{'{"finance": {"fixed": {"taxRate": 0.25}, "rounding": 0}}'}</code>
          </p>
          <textarea
            id={rulesId}
            rows={8}
            spellCheck={false}
            value={rules}
            onChange={(e) => setRules(e.target.value)}
            aria-invalid={rulesError ? true : undefined}
            aria-describedby={`${rulesId}-help${rulesError ? ` ${rulesId}-error` : ''}`}
          />
          {rulesError ? (
            <p className="field-error" id={`${rulesId}-error`}>
              {rulesError}
            </p>
          ) : null}
        </div>
      </fieldset>
      <div className="form-actions">
        <button type="submit" disabled={saving}>
          {saving ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

const LABELS: Record<string, string> = {
  '/id': 'Tenant id',
  '/name': 'Name',
  '/plan': 'Plan',
  '/placement': 'Placement',
  '/status': 'Status',
  ...Object.fromEntries(FORMATTING.map((f) => [`/config/formatting/${f.key}`, f.label])),
  ...Object.fromEntries(LIMITS.map((l) => [`/config/limits/${l.key}`, l.label])),
  ...Object.fromEntries(FUNCTION.map((f) => [`/config/function/${f.key}`, f.label])),
};

/** The label of the field a server problem names (`/config/limits/maxRunningJobs` → "Max running jobs"). */
function labelOf(path: string): string | undefined {
  const field = path.replace(/^\/body/, '');
  if (Object.hasOwn(LABELS, field)) return LABELS[field];
  return field.startsWith('/config/rules')
    ? `Rules (${field.slice('/config/rules'.length) || '/'})`
    : undefined;
}

/** Filled fields as numbers; empty ones are left out (the default applies). */
function numbers(values: Record<string, string>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(values)
      .filter(([, v]) => v.trim() !== '')
      .map(([k, v]) => [k, Number(v)]),
  );
}
