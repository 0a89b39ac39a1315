import { PageHeader } from '../components/ui';

export function Runs() {
  return <PageHeader title="Runs" />;
}
