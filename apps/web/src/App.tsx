import { lazy, Suspense, type ReactNode } from 'react';
import { createBrowserRouter, Link, RouterProvider } from 'react-router';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { SessionProvider, useSession } from './lib/session';
import { Destinations } from './pages/Destinations';
import { Flows } from './pages/Flows';
import { Inspector } from './pages/Inspector';
import { RunPage } from './pages/RunPage';
import { Runs } from './pages/Runs';
import { Settings } from './pages/Settings';
import { SignIn } from './pages/SignIn';

// The graph (React Flow), the editor (CodeMirror) and the chart (uPlot) load with the pages that use them.
const FlowEditor = lazy(() => import('./pages/FlowEditor').then((m) => ({ default: m.FlowEditor })));
const FlowPage = lazy(() => import('./pages/FlowPage').then((m) => ({ default: m.FlowPage })));
const Home = lazy(() => import('./pages/Home').then((m) => ({ default: m.Home })));

const page = (element: ReactNode) => <Suspense fallback={<Loading />}>{element}</Suspense>;

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
        { index: true, element: page(<Home />) },
        { path: 'flows', element: <Flows /> },
        { path: 'flows/:slug', element: page(<FlowPage />) },
        { path: 'flows/:slug/edit', element: page(<FlowEditor />) },
        // Not under flows/: a flow may be called "new".
        { path: 'new-flow', element: page(<FlowEditor />) },
        { path: 'flows/:slug/events', element: <Inspector /> },
        { path: 'runs', element: <Runs /> },
        { path: 'runs/:id', element: <RunPage /> },
        { path: 'destinations', element: <Destinations /> },
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
