import { PageHeader } from '../components/ui';

export function Inspector() {
  return <PageHeader title="Inspector" />;
}
