// Sent in `user-agent`; dist/ carries no package.json, so it is copied here (version.spec.ts checks).
export const HOOKFLOW_VERSION = '0.1.0';
