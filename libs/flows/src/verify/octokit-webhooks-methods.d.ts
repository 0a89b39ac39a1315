// @octokit/webhooks-methods (a devDependency used by the specs only) publishes its types under
// package.json "exports", which the repository's node10 module resolution (kept for the CommonJS
// build) does not read, so tsc sees them through this declaration of the part the specs use.
declare module '@octokit/webhooks-methods' {
  export function sign(secret: string, payload: string): Promise<string>;
  export function verify(secret: string, eventPayload: string, signature: string): Promise<boolean>;
}
