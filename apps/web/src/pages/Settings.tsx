import { PageHeader } from '../components/ui';

export function Settings() {
  return <PageHeader title="Settings" />;
}
