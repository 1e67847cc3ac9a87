import { useCallback, useState } from 'react';
import { useAsync, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { Link, navigate, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading, StatusBadge } from '../ui/States.tsx';
import { KeysPanel } from './KeysPanel.tsx';
import { OperationsPanel } from './OperationsPanel.tsx';
import { PlacementPanel } from './PlacementPanel.tsx';
import { TenantForm } from './TenantForm.tsx';

export function TenantPage({ tenantId }: { tenantId: string }) {
  useTitle(`Tenant ${tenantId}`);
  const { client, me } = useSession();
  const tenant = useAsync(() => client.getTenant(tenantId), [tenantId]);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>();
  const reload = tenant.reload;
  const onMoved = useCallback(() => reload(), [reload]);

  /** A short-lived token for this tenant in a new tab: the operator sees exactly what the tenant's users see. */
  const openPortal = async () => {
    setError(undefined);
    try {
      const { token } = await client.mintToken({
        tenants: [tenantId],
        user: `${me.subject}:preview`,
        roles: ['user'],
      });
      window.open(
        `/login?next=${encodeURIComponent(`/t/${tenantId}/models`)}#token=${token}`,
        '_blank',
        'noopener',
      );
    } catch (e) {
      setError(e);
    }
  };

  const offboard = async () => {
    if (!window.confirm(`Offboard ${tenantId}? Its users lose access; its data is deleted.`)) return;
    try {
      await client.offboardTenant(tenantId);
      navigate('/console');
    } catch (e) {
      setError(e);
    }
  };

  if (tenant.loading && !tenant.data) return <Loading label="Loading tenant…" />;
  if (!tenant.data) return <ProblemBanner error={tenant.error} onRetry={tenant.reload} />;
  const t = tenant.data;
  return (
    <section>
      <p>
        <Link href="/console">← Tenants</Link>
      </p>
      <div className="page-head">
        <h1>{t.name}</h1>
        <div className="actions">
          <button type="button" className="button-secondary" onClick={openPortal}>
            Open portal as a user
          </button>
          <button type="button" className="button-danger" onClick={offboard}>
            Offboard
          </button>
        </div>
      </div>
      <ProblemBanner error={error ?? tenant.error} />
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code>{t.id}</code>
        </dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={t.status} />
        </dd>
        <dt>Placement</dt>
        <dd>{t.placement}</dd>
        <dt>Updated</dt>
        <dd>{formatTime(t.updatedAt)}</dd>
      </dl>
      <PlacementPanel key={t.id} tenant={t} onMoved={onMoved} />
      <OperationsPanel tenantId={t.id} version={t.version} moving={Boolean(t.move)} />
      <KeysPanel tenantId={t.id} />
      <section aria-labelledby="settings-heading">
        <h2 id="settings-heading">Settings</h2>
        {saved ? (
          <p className="banner banner-success" role="status">
            Saved.
          </p>
        ) : null}
        <TenantForm
          key={t.version}
          initial={t}
          submitLabel="Save changes"
          onSubmit={async (v) => {
            setSaved(false);
            await client.updateTenant(t.id, {
              name: v.name,
              plan: v.plan,
              status: v.status,
              config: v.config,
            });
            setSaved(true);
            tenant.reload();
          }}
        />
      </section>
    </section>
  );
}
