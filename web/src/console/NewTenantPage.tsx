import { useState } from 'react';
import type { CreatedTenant } from '../../../src/client/index.ts';
import { useSession } from '../api.tsx';
import { Link, useTitle } from '../router.tsx';
import { TenantForm } from './TenantForm.tsx';

export function NewTenantPage() {
  useTitle('New tenant');
  const { client } = useSession();
  const [created, setCreated] = useState<CreatedTenant>();

  if (created) {
    return (
      <section className="narrow">
        <h1>Tenant {created.tenant.name} created</h1>
        <div className="banner banner-success" role="status">
          <p className="banner-title">API key</p>
          <p>This key is shown once. Give it to the tenant now; only its hash is stored.</p>
          <p>
            <code className="secret" data-testid="api-key">
              {created.apiKey}
            </code>
          </p>
          <button
            type="button"
            className="button-secondary"
            onClick={() => navigator.clipboard?.writeText(created.apiKey)}
          >
            Copy key
          </button>
        </div>
        {created.operation ? (
          <div className="banner" role="status" data-testid="deploying">
            <p className="banner-title">Deploying its own resources</p>
            <p>
              Its dedicated stack takes a few minutes to create. Until then it runs on the shared placement
              and can submit jobs already; the tenant page shows the move's progress.
            </p>
          </div>
        ) : null}
        <Link className="button" href={`/console/tenants/${encodeURIComponent(created.tenant.id)}`}>
          Open {created.tenant.id}
        </Link>
      </section>
    );
  }
  return (
    <section className="narrow">
      <h1>New tenant</h1>
      <TenantForm
        submitLabel="Create tenant"
        onSubmit={async (v) => {
          setCreated(
            await client.createTenant({
              id: v.id,
              name: v.name,
              plan: v.plan,
              placement: v.placement,
              config: v.config,
            }),
          );
        }}
      />
    </section>
  );
}
