/**
 * The product version sent in outbound `user-agent` headers. Kept here rather than read from
 * package.json at runtime because the compiled layout under dist/ does not carry package.json;
 * version.spec.ts fails when the two drift apart.
 */
export const HOOKFLOW_VERSION = '0.1.0';
