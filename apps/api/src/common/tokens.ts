/** The connector registry, used by the API only to validate `with` options against connector schemas. */
export const CONNECTOR_CATALOG = Symbol('CONNECTOR_CATALOG');
