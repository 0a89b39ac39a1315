import { PageHeader } from '../components/ui';

export function FlowPage() {
  return <PageHeader title="FlowPage" />;
}
