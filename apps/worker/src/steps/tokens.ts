export const CONNECTORS = Symbol('CONNECTORS');
