import { Injectable } from '@nestjs/common';
import { DESTINATION_STATES, type DestinationState } from '@hookflow/flows';
import { StepQueue } from '@hookflow/queue';
import { DestinationRepository, type BreakerWrite, type DestinationView } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { isUuid } from '../common/ids';

/** The circuit breaker's destinations for the API: list, pause and resume by hand (docs/outbound.md). */
@Injectable()
export class DestinationsService {
  constructor(
    private readonly destinations: DestinationRepository,
    private readonly queue: StepQueue,
  ) {}

  async list(state: unknown): Promise<{ items: DestinationView[] }> {
    if (
      state !== undefined &&
      (typeof state !== 'string' || !(DESTINATION_STATES as readonly string[]).includes(state))
    )
      throw AppError.invalid('/state', `must be one of ${DESTINATION_STATES.join(', ')}`);
    return { items: await this.destinations.list(state as DestinationState | undefined) };
  }

  async get(id: string): Promise<DestinationView> {
    return (await this.destinations.get(checkedId(id))) ?? notFound();
  }

  async pause(id: string): Promise<DestinationView> {
    return this.after(id, await this.destinations.pause(checkedId(id)));
  }

  async resume(id: string): Promise<DestinationView> {
    const write = await this.destinations.resume(checkedId(id));
    // The steps held for it run now rather than at the end of their hold.
    if (write && write.released.length > 0) await this.queue.promote(write.released);
    return this.after(id, write);
  }

  private async after(id: string, write: BreakerWrite | null): Promise<DestinationView> {
    if (!write) notFound();
    return (await this.destinations.get(id)) ?? notFound();
  }
}

function checkedId(id: string): string {
  if (!isUuid(id)) throw AppError.invalid('/id', 'must be a destination id (uuid)');
  return id;
}

function notFound(): never {
  throw AppError.notFound('destination');
}
