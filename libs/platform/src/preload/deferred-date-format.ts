/**
 * Runs `load` while `Intl.DateTimeFormat` hands out formatters that are built when first used,
 * then puts the real constructor back. Building one maps ICU's locale and calendar data: 5 MB of
 * the node binary become resident in the process, and stay.
 *
 * A deferred formatter answers every property and method as the real one does, but it is not one:
 * `instanceof` is false, `Intl.DateTimeFormat.prototype.format.call(it)` throws, and bad options
 * throw at first use. Enough for a module that keeps a formatter and calls `format` on it, as
 * @nestjs/common does; not for code that checks what it holds.
 */
export function withDeferredDateTimeFormat<T>(load: () => T): T {
  const IntlDateTimeFormat = Intl.DateTimeFormat;
  function DeferredDateTimeFormat(
    ...args: ConstructorParameters<typeof Intl.DateTimeFormat>
  ): Intl.DateTimeFormat {
    let built: Intl.DateTimeFormat | undefined;
    const formatter = (): Intl.DateTimeFormat => (built ??= new IntlDateTimeFormat(...args));
    return new Proxy({} as Intl.DateTimeFormat, {
      get(_target, key) {
        const real = formatter();
        const value: unknown = Reflect.get(real, key);
        return typeof value === 'function' ? value.bind(real) : value;
      },
    });
  }
  Intl.DateTimeFormat = DeferredDateTimeFormat as unknown as typeof Intl.DateTimeFormat;
  try {
    return load();
  } finally {
    Intl.DateTimeFormat = IntlDateTimeFormat;
  }
}
