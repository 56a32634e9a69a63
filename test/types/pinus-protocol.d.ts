// The parts of pinus-protocol the protocol tests use, from its compiled CommonJS entry. The package
// names its TypeScript source as its types, which does not compile under this project's settings.
declare module 'pinus-protocol/dist/index.js' {
  namespace Package {
    function encode(type: number, body?: Buffer): Buffer;
    function decode(buffer: Buffer): { type: number; body: Buffer } | { type: number; body: Buffer }[];
  }
  namespace Message {
    function encode(id: number, type: number, compressRoute: boolean, route: number | string | Buffer, msg: Buffer, compressGzip?: boolean): Buffer;
    function decode(buffer: Buffer): { id: number; type: number; compressRoute: number; route: number | string | undefined; body: Buffer; compressGzip: number };
  }
  const pinus: { Package: typeof Package; Message: typeof Message };
  export default pinus;
}
