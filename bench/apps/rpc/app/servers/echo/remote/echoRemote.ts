/** The bench's callee: returns its argument untouched, so a call measures the RPC path alone. */
export default class EchoRemote {
  echo(payload: Uint8Array): Uint8Array {
    return payload;
  }
}
