import type { DataSource } from 'typeorm';

/** Whether the database answers, for readiness checks. */
export class DatabaseHealth {
  constructor(private readonly ds: DataSource) {}

  async ping(): Promise<void> {
    await this.ds.query('SELECT 1');
  }
}
