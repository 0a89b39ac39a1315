import { Injectable } from '@nestjs/common';
import { EventRepository, FlowRepository, InvalidCursorError } from '@hookflow/store';
import { AppError } from '../common/app-error';

/** The inbound inspector: every request a flow's trigger received, accepted or refused. */
@Injectable()
export class FlowEventsService {
  constructor(
    private readonly flows: FlowRepository,
    private readonly events: EventRepository,
  ) {}

  async list(slug: string, q: { accepted?: string; limit: number; cursor?: string }) {
    if (q.accepted !== undefined && q.accepted !== 'true' && q.accepted !== 'false') {
      throw AppError.invalid('/accepted', 'must be true or false');
    }
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    try {
      return await this.events.list(record.flow.id, {
        accepted: q.accepted === undefined ? undefined : q.accepted === 'true',
        limit: q.limit,
        cursor: q.cursor,
      });
    } catch (err) {
      if (err instanceof InvalidCursorError) throw AppError.invalid('/cursor', err.message);
      throw err;
    }
  }
}
