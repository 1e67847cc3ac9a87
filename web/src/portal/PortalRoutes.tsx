import { lazy } from 'react';
import { useSession } from '../api.tsx';
import { match, Redirect } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { BillingPage } from './BillingPage.tsx';
import { JobPage } from './JobPage.tsx';
import { JobsPage } from './JobsPage.tsx';
import { ModelsPage } from './ModelsPage.tsx';
import { NotificationsPage } from './NotificationsPage.tsx';

// The generated form brings @rjsf and its schema validator, the portal's largest dependencies; only the form
// page loads them.
const RunModelPage = lazy(() => import('./RunModelPage.tsx').then((m) => ({ default: m.RunModelPage })));

/** The tenant portal under `/t/:tenant/…`. */
export default function PortalRoutes({ tenantId, path }: { tenantId: string; path: string }) {
  const { me } = useSession();
  const base = `/t/${encodeURIComponent(tenantId)}`;
  // The server enforces this too; checking here gives a clear message instead of a 403 per request.
  if (!me.tenants.some((t) => t.id === tenantId)) {
    return (
      <ProblemBanner
        error={new Error(`You have no access to tenant "${tenantId}". Pick one of your tenants instead.`)}
      />
    );
  }
  const rest = path.slice(base.length) || '/';
  if (rest === '/' || rest === '/models') return <ModelsPage tenantId={tenantId} />;
  const model = match('/models/:model', rest);
  if (model?.model) return <RunModelPage tenantId={tenantId} model={model.model} />;
  if (rest === '/jobs') return <JobsPage tenantId={tenantId} />;
  if (rest === '/notifications') return <NotificationsPage tenantId={tenantId} />;
  if (rest === '/billing') return <BillingPage tenantId={tenantId} />;
  const job = match('/jobs/:id', rest);
  if (job?.id) return <JobPage tenantId={tenantId} jobId={job.id} />;
  return <Redirect to={`${base}/models`} />;
}
