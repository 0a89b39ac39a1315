import { createBrowserRouter, Link, RouterProvider } from 'react-router';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { SessionProvider, useSession } from './lib/session';
import { FlowEditor } from './pages/FlowEditor';
import { FlowPage } from './pages/FlowPage';
import { Flows } from './pages/Flows';
import { Home } from './pages/Home';
import { Inspector } from './pages/Inspector';
import { RunPage } from './pages/RunPage';
import { Runs } from './pages/Runs';
import { Settings } from './pages/Settings';
import { SignIn } from './pages/SignIn';

function NotFound() {
  return (
    <div className="empty">
      Nothing here. <Link to="/">Home</Link>
    </div>
  );
}

// History routing under /ui: every page has a URL that can be shared and opened directly.
const router = createBrowserRouter(
  [
    {
      path: '/',
      element: <Layout />,
      children: [
        { index: true, element: <Home /> },
        { path: 'flows', element: <Flows /> },
        { path: 'flows/:slug', element: <FlowPage /> },
        { path: 'flows/:slug/edit', element: <FlowEditor /> },
        // Not under flows/: a flow may be called "new".
        { path: 'new-flow', element: <FlowEditor /> },
        { path: 'flows/:slug/events', element: <Inspector /> },
        { path: 'runs', element: <Runs /> },
        { path: 'runs/:id', element: <RunPage /> },
        { path: 'settings', element: <Settings /> },
        { path: '*', element: <NotFound /> },
      ],
    },
  ],
  { basename: '/ui' },
);

function Gate() {
  const { state } = useSession();
  if (state.kind === 'loading') return <Loading />;
  // Signed out, the URL stays as it is: after signing in, the page asked for opens.
  if (state.kind === 'signed-out') return <SignIn reason={state.reason} />;
  return <RouterProvider router={router} />;
}

export function App() {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}
