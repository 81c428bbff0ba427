// oidc-provider ships its memory adapter without type declarations; this is the part we use.
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  export function createMemoryAdapter(clockTolerance?: number): (name: string) => unknown;
}
