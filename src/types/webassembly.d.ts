/**
 * The part of the WebAssembly JavaScript API that pixwarden uses. Node provides the global;
 * TypeScript declares it only in its DOM library, which a Node package should not pull in.
 */
/* eslint-disable @typescript-eslint/no-extraneous-class -- declarations of existing classes */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, unknown>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
