import { useAsync, useTenantClient } from '../api.tsx';
import { Link, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';

export function ModelsPage({ tenantId }: { tenantId: string }) {
  useTitle('Models');
  const client = useTenantClient(tenantId);
  const models = useAsync(() => client.listModels(), [tenantId]);
  return (
    <section>
      <h1>Models</h1>
      <ProblemBanner error={models.error} onRetry={models.reload} />
      {models.loading && !models.data ? <Loading label="Loading models…" /> : null}
      {models.data?.length === 0 ? <Empty title="No models are enabled for this tenant." /> : null}
      <ul className="card-list">
        {models.data?.map((m) => (
          <li key={m.name}>
            <article className="card">
              <h2>
                <Link href={`/t/${encodeURIComponent(tenantId)}/models/${encodeURIComponent(m.name)}`}>
                  {m.title}
                </Link>
              </h2>
              <p>{m.description}</p>
              <p className="muted">
                {m.name} · version {m.version}
              </p>
            </article>
          </li>
        ))}
      </ul>
    </section>
  );
}
