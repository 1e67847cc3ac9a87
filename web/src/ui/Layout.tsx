import type { ReactNode } from 'react';
import { useSession } from '../api.tsx';
import { Link, useLocation } from '../router.tsx';

/** Header navigation for the signed-in user: their tenant's portal and, for operators, the console. */
export function Layout({ tenantId, children }: { tenantId?: string | undefined; children: ReactNode }) {
  const { me, signOut } = useSession();
  const { path } = useLocation();
  const operator = me.roles.includes('operator');
  const links: { href: string; label: string }[] = [];
  if (tenantId) {
    const base = `/t/${encodeURIComponent(tenantId)}`;
    links.push(
      { href: `${base}/models`, label: 'Models' },
      { href: `${base}/jobs`, label: 'Jobs' },
      { href: `${base}/notifications`, label: 'Notifications' },
      { href: `${base}/billing`, label: 'Billing' },
    );
  }
  if (me.tenants.length > 1 || (operator && me.tenants.length > 0)) {
    links.push({ href: '/tenants', label: 'Switch tenant' });
  }
  if (operator) {
    links.push(
      { href: '/console', label: 'Tenants' },
      { href: '/console/jobs', label: 'All jobs' },
      { href: '/console/queues', label: 'Queues' },
      { href: '/console/usage', label: 'Usage' },
      { href: '/console/metrics', label: 'Metrics' },
      { href: '/console/advisor', label: 'Advisor' },
      { href: '/console/releases', label: 'Releases' },
      { href: '/console/billing', label: 'Billing' },
    );
  }
  const tenantName = me.tenants.find((t) => t.id === tenantId)?.name;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Silopool
        </Link>
        {tenantId ? <span className="tenant-chip">{tenantName ?? tenantId}</span> : null}
        <nav aria-label="Main">
          <ul>
            {links.map((l) => (
              <li key={l.href}>
                <Link href={l.href} aria-current={isCurrent(path, l.href) ? 'page' : undefined}>
                  {l.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user">
          <span className="muted" title={me.subject}>
            {me.subject}
          </span>
          <button type="button" className="button-link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function isCurrent(path: string, href: string): boolean {
  if (href === '/console') return path === '/console' || path.startsWith('/console/tenants');
  return path === href || path.startsWith(`${href}/`);
}
