/**
 * The admin protocol between the `shaddock` CLI and the leading master, on `<base>.admin`
 * (msgpack request/reply, see docs/protocol.md). Every request carries the admin token. The
 * types are defined with every other payload in src/transport/wire.ts.
 */
export type { AdminCommand, AdminReply, AdminRequest, AdminResults, ServerExit, ServerRow } from '../../transport/wire.ts';
