import { NavLink, Outlet } from 'react-router';
import { useSession } from '../lib/session';

const NAV = [
  { to: '/', label: 'Home', end: true },
  { to: '/flows', label: 'Flows' },
  { to: '/runs', label: 'Runs' },
  { to: '/destinations', label: 'Destinations' },
  { to: '/settings', label: 'Settings' },
];

export function Layout() {
  const { state, signOut } = useSession();
  const session = state.kind === 'signed-in' ? state.session : undefined;
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">Hookflow</div>
        {NAV.map((item) => (
          <NavLink key={item.to} to={item.to} end={item.end} className="nav-link">
            {item.label}
          </NavLink>
        ))}
        <div className="sidebar-foot">
          {session && (
            <div className="who" data-testid="who">
              {session.keyName ?? 'API key'} <span className="scope">{session.scope}</span>
            </div>
          )}
          <button type="button" className="btn btn-secondary btn-small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
