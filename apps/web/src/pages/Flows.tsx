import { PageHeader } from '../components/ui';

export function Flows() {
  return <PageHeader title="Flows" />;
}
