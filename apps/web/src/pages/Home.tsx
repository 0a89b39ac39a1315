import { PageHeader } from '../components/ui';

export function Home() {
  return <PageHeader title="Home" />;
}
