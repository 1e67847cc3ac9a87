import Form, { type IChangeEvent } from '@rjsf/core';
import type { ErrorSchema, RJSFSchema } from '@rjsf/utils';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ProblemError } from '../../../src/client/index.ts';
import { useAsync, useTenantClient } from '../api.tsx';
import { Link, navigate, useLocation, useTitle } from '../router.tsx';
import { formTemplates } from '../ui/formTemplates.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';
import { formValidator } from './formValidator.ts';
import {
  errorSchemaFrom,
  formSchema,
  friendlyErrorsFor,
  type ImplausibleValue,
  implausibleValues,
  uiSchemaFor,
} from './schemaForm.ts';
import { widgets } from './widgets.tsx';

/** The model's form, generated from the tenant's schema; `?rerun=<job>` starts from that job's input. */
export function RunModelPage({ tenantId, model }: { tenantId: string; model: string }) {
  const client = useTenantClient(tenantId);
  const { query } = useLocation();
  const rerun = query.get('rerun');
  const loaded = useAsync(async () => {
    const [models, job] = await Promise.all([client.listModels(), rerun ? client.getJob(rerun) : undefined]);
    return { info: models.find((m) => m.name === model), job };
  }, [tenantId, model, rerun]);
  const info = loaded.data?.info;
  useTitle(info?.title ?? model);

  const schema = useMemo(() => (info ? (formSchema(info.inputSchema) as RJSFSchema) : undefined), [info]);
  const uiSchema = useMemo(() => (schema ? uiSchemaFor(schema) : {}), [schema]);
  const transformErrors = useMemo(() => friendlyErrorsFor(schema ?? {}), [schema]);
  const [formData, setFormData] = useState<unknown>();
  const [problem, setProblem] = useState<unknown>();
  const [serverErrors, setServerErrors] = useState<ErrorSchema>();
  const [submitting, setSubmitting] = useState(false);
  // One key per intended submission: a retried click after a timeout does not start a second job.
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  // Values past their field's x-warn-above, waiting for the user to confirm them or change them.
  const [unusual, setUnusual] = useState<{ data: unknown; values: ImplausibleValue[] }>();
  const confirmRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (unusual) confirmRef.current?.focus();
  }, [unusual]);
  // A refused submission leaves the user at the button, below the form: take them to the summary of what
  // to change (the field list when the server named fields, else the problem banner).
  useEffect(() => {
    if (!problem) return;
    const summary = document.getElementById('error-summary') ?? document.getElementById('form-problem');
    summary?.focus();
    summary?.scrollIntoView({ block: 'start' });
  }, [problem]);

  if (loaded.loading && !loaded.data) return <Loading label="Loading the form…" />;
  if (loaded.error) return <ProblemBanner error={loaded.error} onRetry={loaded.reload} />;
  if (!info || !schema) {
    return (
      <Empty title={`There is no model "${model}" for this tenant.`}>
        <Link href={`/t/${encodeURIComponent(tenantId)}/models`}>See the models</Link>
      </Empty>
    );
  }

  const initial = formData ?? (loaded.data?.job?.input as object | undefined);

  const onChange = (event: IChangeEvent) => {
    setFormData(event.formData);
    setServerErrors(undefined);
    setUnusual(undefined);
    setIdempotencyKey(crypto.randomUUID());
  };

  const onSubmit = (event: IChangeEvent) => {
    const values = implausibleValues(schema, event.formData);
    if (values.length > 0) setUnusual({ data: event.formData, values });
    else void submit(event.formData);
  };

  const submit = async (input: unknown) => {
    setUnusual(undefined);
    setSubmitting(true);
    setProblem(undefined);
    try {
      const job = await client.submitJob(model, input, { idempotencyKey });
      navigate(`/t/${encodeURIComponent(tenantId)}/jobs/${encodeURIComponent(job.id)}`);
    } catch (error) {
      setProblem(error);
      if (error instanceof ProblemError) setServerErrors(errorSchemaFrom(error.problem.errors));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <section className="form-page">
      <h1>{info.title}</h1>
      <p>{info.description}</p>
      {rerun ? (
        <p className="banner banner-info">
          Starting from the input of job <code>{rerun}</code>. Change what you need and run it again.
        </p>
      ) : null}
      <ProblemBanner
        error={problem}
        id="form-problem"
        // Field problems are listed once, in the summary above the fields, each linked to its field.
        hideFieldErrors={Boolean(serverErrors && Object.keys(serverErrors).length > 0)}
      />
      <Form
        schema={schema}
        uiSchema={uiSchema}
        validator={formValidator}
        widgets={widgets}
        templates={formTemplates}
        formData={initial}
        onChange={onChange}
        onSubmit={onSubmit}
        extraErrors={serverErrors}
        transformErrors={transformErrors}
        liveValidate="onBlur"
        noHtml5Validate
        showErrorList="top"
        focusOnFirstError
        // Optional objects (an optional loan) stay empty until the user fills them, instead of
        // being sent with their defaults on every run.
        experimental_defaultFormStateBehavior={{ emptyObjectFields: 'populateRequiredDefaults' }}
        disabled={submitting}
      >
        {unusual ? (
          <div
            className="banner banner-warning"
            role="alertdialog"
            aria-labelledby="unusual-title"
            aria-describedby="unusual-list"
            tabIndex={-1}
            ref={confirmRef}
          >
            <p className="banner-title" id="unusual-title">
              {unusual.values.length === 1 ? 'This value is unusual' : 'These values are unusual'}: run
              anyway?
            </p>
            <ul id="unusual-list">
              {unusual.values.map((v) => (
                <li key={v.path}>{v.message}</li>
              ))}
            </ul>
            <p>Rates are percentages here: 5 means 5 %. Change the value if you meant something smaller.</p>
            <div className="form-actions">
              <button type="button" onClick={() => void submit(unusual.data)} disabled={submitting}>
                Run with these values
              </button>
              <button
                type="button"
                className="button-secondary"
                onClick={() => {
                  // Back to the first unusual field (@rjsf ids follow the path: root_loan_annualRate).
                  const first = unusual.values[0]?.path ?? '';
                  setUnusual(undefined);
                  document.getElementById(`root${first.replace(/\//g, '_')}`)?.focus();
                }}
              >
                Change them
              </button>
            </div>
          </div>
        ) : (
          <div className="form-actions">
            <button type="submit" disabled={submitting}>
              {submitting ? 'Submitting…' : 'Run model'}
            </button>
          </div>
        )}
      </Form>
    </section>
  );
}
