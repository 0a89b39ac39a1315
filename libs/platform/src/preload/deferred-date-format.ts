/**
 * Runs `load` while `Intl.DateTimeFormat` gives formatters built at first use (building one makes
 * 5 MB of ICU data resident). Not a real formatter (`instanceof` is false): fine for @nestjs/common.
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
