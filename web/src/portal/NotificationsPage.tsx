import { type FormEvent, useEffect, useState } from 'react';
import type { NotificationSettings } from '../../../src/client/index.ts';
import { useAsync, useTenantClient } from '../api.tsx';
import { currentSubscriptionId, pushSubscription, pushSupported } from '../pwa.ts';
import { useTitle } from '../router.tsx';
import { Field } from '../ui/Field.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading } from '../ui/States.tsx';
import { formatTime } from './format.ts';
import './notifications.css';

/**
 * The signed-in user's notifications in this tenant: a verified email address and browsers subscribed to
 * Web Push, each channel turned on or off. Settings are the user's own; other users of the tenant have theirs.
 */
export function NotificationsPage({ tenantId }: { tenantId: string }) {
  useTitle('Notifications');
  const client = useTenantClient(tenantId);
  const loaded = useAsync(() => client.notificationSettings(), [tenantId]);
  const [settings, setSettings] = useState<NotificationSettings>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => setSettings(loaded.data), [loaded.data]);

  const act = async (work: () => Promise<NotificationSettings | undefined>) => {
    setBusy(true);
    setError(undefined);
    try {
      setSettings((await work()) ?? (await client.notificationSettings()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (loaded.error && !settings) return <ProblemBanner error={loaded.error} onRetry={loaded.reload} />;
  if (!settings) return <Loading />;
  return (
    <section className="narrow">
      <h1>Notifications</h1>
      <p className="muted">
        Hear when a job of this tenant finishes or fails. These settings are yours alone; the tenant's webhook
        and the job page's live status work without them.
      </p>
      {error ? <ProblemBanner error={error} /> : null}
      <EmailSettings settings={settings} busy={busy} act={act} client={client} />
      <PushSettings settings={settings} busy={busy} act={act} client={client} />
    </section>
  );
}

interface SectionProps {
  settings: NotificationSettings;
  busy: boolean;
  act(work: () => Promise<NotificationSettings | undefined>): Promise<void>;
  client: ReturnType<typeof useTenantClient>;
}

function EmailSettings({ settings, busy, act, client }: SectionProps) {
  const [address, setAddress] = useState('');
  const [code, setCode] = useState('');
  if (!settings.channels.email) {
    return (
      <section aria-labelledby="email-heading">
        <h2 id="email-heading">Email</h2>
        <p className="muted">This platform sends no email (its operator has set no SMTP server).</p>
      </section>
    );
  }
  const email = settings.email;
  const sendCode = (e: FormEvent) => {
    e.preventDefault();
    void act(() => client.setNotificationEmail(address.trim())).then(() => setAddress(''));
  };
  const verify = (e: FormEvent) => {
    e.preventDefault();
    void act(() => client.verifyNotificationEmail(code.trim())).then(() => setCode(''));
  };
  return (
    <section aria-labelledby="email-heading">
      <h2 id="email-heading">Email</h2>
      {email ? (
        <p>
          {email.address} —{' '}
          {email.verified ? 'verified' : email.pending ? 'waiting for its code' : 'not verified'}
        </p>
      ) : null}
      <label className="checkbox">
        <input
          type="checkbox"
          checked={settings.optIn.email}
          disabled={busy || !email?.verified}
          onChange={(e) => void act(() => client.setNotificationOptIn({ email: e.target.checked }))}
        />
        Email me when a job finishes
      </label>
      {email?.pending ? (
        <form onSubmit={verify}>
          <Field
            label="Verification code"
            help={`The six digits mailed to ${email.address}.`}
            inputMode="numeric"
            autoComplete="one-time-code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            required
          />
          <button type="submit" disabled={busy}>
            Verify
          </button>
        </form>
      ) : null}
      <form onSubmit={sendCode}>
        <Field
          label={email ? 'New email address' : 'Email address'}
          help="A code is mailed to it; it receives job emails once you enter the code."
          type="email"
          autoComplete="email"
          value={address}
          onChange={(e) => setAddress(e.target.value)}
          required
        />
        <button type="submit" disabled={busy}>
          Send code
        </button>
      </form>
      {email ? (
        <button
          type="button"
          className="button-link"
          disabled={busy}
          onClick={() =>
            void act(async () => {
              await client.removeNotificationEmail();
              return undefined;
            })
          }
        >
          Remove {email.address}
        </button>
      ) : null}
    </section>
  );
}

function PushSettings({ settings, busy, act, client }: SectionProps) {
  const [thisDevice, setThisDevice] = useState<string>();
  useEffect(() => {
    currentSubscriptionId().then(setThisDevice, () => undefined);
  }, []);
  const key = settings.channels.push?.vapidPublicKey;
  if (!key || !pushSupported()) {
    return (
      <section aria-labelledby="push-heading">
        <h2 id="push-heading">This device</h2>
        <p className="muted">
          {key
            ? 'This browser cannot receive push notifications. On a phone, install the app first (Add to Home Screen).'
            : 'This platform sends no push notifications.'}
        </p>
      </section>
    );
  }
  const subscribe = () =>
    act(async () => {
      if ((await Notification.requestPermission()) !== 'granted') {
        throw new Error('Notifications are blocked for this site: allow them in the browser settings.');
      }
      const subscription = await pushSubscription(key);
      await client.addPushSubscription(subscription.toJSON());
      setThisDevice(await currentSubscriptionId());
      return client.setNotificationOptIn({ push: true });
    });
  return (
    <section aria-labelledby="push-heading">
      <h2 id="push-heading">Push notifications</h2>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={settings.optIn.push}
          disabled={busy || settings.push.length === 0}
          onChange={(e) => void act(() => client.setNotificationOptIn({ push: e.target.checked }))}
        />
        Notify my devices when a job finishes
      </label>
      <button type="button" disabled={busy} onClick={() => void subscribe()}>
        Notify this device
      </button>
      {settings.push.length > 0 ? (
        <ul className="plain-list" aria-label="Subscribed devices">
          {settings.push.map((device) => (
            <li key={device.id}>
              {device.origin}, since {formatTime(device.createdAt)}
              {device.id === thisDevice ? ' (this device)' : ''}{' '}
              <button
                type="button"
                className="button-link"
                disabled={busy}
                aria-label={`Remove the device subscribed via ${device.origin} since ${formatTime(device.createdAt)}`}
                onClick={() =>
                  void act(async () => {
                    await client.removePushSubscription(device.id);
                    return undefined;
                  })
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No device is subscribed yet.</p>
      )}
    </section>
  );
}
