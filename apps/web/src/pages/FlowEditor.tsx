import { PageHeader } from '../components/ui';

export function FlowEditor() {
  return <PageHeader title="FlowEditor" />;
}
