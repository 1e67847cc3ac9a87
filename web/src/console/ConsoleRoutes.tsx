import { useSession } from '../api.tsx';
import { match } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { AdvisorPage } from './AdvisorPage.tsx';
import { BillingPage } from './BillingPage.tsx';
import { JobStoryPage } from './JobStoryPage.tsx';
import { MetricsPage } from './MetricsPage.tsx';
import { NewTenantPage } from './NewTenantPage.tsx';
import { OperatorJobsPage } from './OperatorJobsPage.tsx';
import { QueuesPage } from './QueuesPage.tsx';
import { ReleasesPage } from './ReleasesPage.tsx';
import { TenantPage } from './TenantPage.tsx';
import { TenantsPage } from './TenantsPage.tsx';
import { UsagePage } from './UsagePage.tsx';

/** The operator console under `/console/…`. */
export default function ConsoleRoutes({ path }: { path: string }) {
  const { me } = useSession();
  if (!me.roles.includes('operator')) {
    return <ProblemBanner error={new Error('The operator console needs the operator role.')} />;
  }
  if (path === '/console' || path === '/console/tenants') return <TenantsPage />;
  if (path === '/console/tenants/new') return <NewTenantPage />;
  if (path === '/console/queues') return <QueuesPage />;
  if (path === '/console/usage') return <UsagePage />;
  if (path === '/console/advisor') return <AdvisorPage />;
  if (path === '/console/metrics') return <MetricsPage />;
  if (path === '/console/jobs') return <OperatorJobsPage />;
  const job = match('/console/tenants/:tenantId/jobs/:id', path);
  if (job?.tenantId && job.id) return <JobStoryPage tenantId={job.tenantId} jobId={job.id} />;
  if (path === '/console/releases') return <ReleasesPage />;
  if (path === '/console/billing') return <BillingPage />;
  const tenant = match('/console/tenants/:id', path);
  if (tenant?.id) return <TenantPage tenantId={tenant.id} />;
  return <TenantsPage />;
}
