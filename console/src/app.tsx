import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Session } from './api/session.js';
import { Login } from './pages/login.js';
import { href, useRoute } from './router.js';
import { Dashboard } from './pages/dashboard.js';
import { Products } from './pages/products.js';
import { Devices } from './pages/devices.js';
import { DeviceDetail } from './pages/device-detail.js';
import { Gateways } from './pages/gateways.js';
import { Certificates } from './pages/certificates.js';
import { DeviceManagement } from './pages/device-management.js';
import { lazyPage } from './ui/lazy.js';

// The device-management portals are fetched the first time one is opened (their own chunks).
type PortalProps = { session: Session; selected: string | undefined };
const Groups = lazyPage<PortalProps>(() => import('./pages/dm-groups.js').then((m) => m.Groups));
const Policies = lazyPage<PortalProps>(() => import('./pages/dm-policies.js').then((m) => m.Policies));
const AppPublisher = lazyPage<PortalProps>(() => import('./pages/app-publisher.js').then((m) => m.AppPublisher));
const AppStore = lazyPage<{ session: Session }>(() => import('./pages/app-store.js').then((m) => m.AppStore));

const pages = [
  { page: 'dashboard', label: 'Dashboard' },
  { page: 'products', label: 'Products' },
  { page: 'devices', label: 'Devices' },
  { page: 'gateways', label: 'Gateways' },
  { page: 'certificates', label: 'Certificates' },
  { page: 'device-management', label: 'Device management' },
  { page: 'groups', label: 'Groups' },
  { page: 'policies', label: 'Policies' },
  { page: 'app-publisher', label: 'App publisher' },
  { page: 'app-store', label: 'App store' },
] as const;

export function App(): JSX.Element {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState('');
  const route = useRoute();

  if (!session || !session.active)
    return (
      <Login
        notice={notice}
        onEnd={(reason) => {
          setNotice(reason);
          setSession(null);
        }}
        onLogin={(s) => {
          setNotice('');
          setSession(s);
        }}
      />
    );

  let main: JSX.Element;
  switch (route.page) {
    case 'products':
      main = <Products session={session} selected={route.params[0]} />;
      break;
    case 'devices':
      main = route.params[0] ? <DeviceDetail session={session} assetId={route.params[0]} /> : <Devices session={session} />;
      break;
    case 'gateways':
      main = <Gateways session={session} />;
      break;
    case 'certificates':
      main = <Certificates session={session} />;
      break;
    case 'device-management':
      main = <DeviceManagement session={session} />;
      break;
    case 'groups':
      main = <Groups session={session} selected={route.params[0]} />;
      break;
    case 'policies':
      main = <Policies session={session} selected={route.params[0]} />;
      break;
    case 'app-publisher':
      main = <AppPublisher session={session} selected={route.params[0]} />;
      break;
    case 'app-store':
      main = <AppStore session={session} />;
      break;
    default:
      main = <Dashboard session={session} />;
  }
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">edgehub console</span>
        <span class="who">
          Organization <strong>{session.orgId}</strong>
        </span>
        <button type="button" onClick={() => session.end('You logged out.')}>
          Log out
        </button>
      </header>
      <div class="layout">
        <nav aria-label="Console" class="side">
          <ul>
            {pages.map((p) => (
              <li key={p.page}>
                <a
                  href={href(p.page)}
                  aria-current={
                    route.page === p.page || (p.page === 'dashboard' && !pages.some((q) => q.page === route.page)) ? 'page' : undefined
                  }
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {main}
        </main>
      </div>
    </>
  );
}
