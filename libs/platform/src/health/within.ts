/**
 * `work`'s outcome, or an Error "no answer within `ms` ms" once `ms` have passed first. The timer
 * never outlives the wait; a rejection of `work` after the deadline is handled by the race.
 */
export async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
