/**
 * Runs `load` with `Intl.DateTimeFormat` deferred to first use (docs/operations.md, Memory); the
 * stand-in fails `instanceof`, which @nestjs/common does not check.
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
