import { useSession } from '../api.tsx';
import { Link, useTitle } from '../router.tsx';
import { Empty } from '../ui/States.tsx';

/** A user granted several tenants picks which one to work in. */
export default function TenantPicker() {
  useTitle('Choose a tenant');
  const { me } = useSession();
  return (
    <section className="narrow">
      <h1>Choose a tenant</h1>
      {me.tenants.length === 0 ? (
        <Empty title="Your sign-in grants no tenant.">
          <p>Ask an operator for access, or sign in with a tenant API key.</p>
        </Empty>
      ) : (
        <ul className="card-list">
          {me.tenants.map((t) => (
            <li key={t.id}>
              <Link className="card card-link" href={`/t/${encodeURIComponent(t.id)}/models`}>
                <strong>{t.name}</strong>
                <span className="muted">{t.id}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
