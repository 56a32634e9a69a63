import type { NatsConnection } from '@nats-io/transport-node';
import type { MasterConfig } from '../../config/types.ts';
import { appVersion, MicroService, microName, type EndpointStats } from '../../transport/micro.ts';

/**
 * A master as a NATS micro service (`$SRV.*`, docs/protocol.md "Discovery"), leader or standby:
 * `<prefix>-<cluster>-master`, its id, and one endpoint, `admin` on the CLI's subject, which only
 * the leader answers. Returns the service, not started yet, and the admin endpoint's counters.
 */
export function masterService(nc: NatsConnection, master: Pick<MasterConfig, 'id' | 'prefix' | 'cluster'>, dir: string, adminSubject: string, startedAt: number): { service: MicroService; admin: EndpointStats } {
  const { id, prefix, cluster } = master;
  const service = new MicroService(
    nc,
    {
      name: microName(`${prefix}-${cluster}-master`),
      id,
      version: appVersion(dir),
      description: `Shaddock master ${id} (cluster ${cluster})`,
      metadata: { server_id: id, server_type: 'master', cluster, prefix, pid: String(process.pid) },
    },
    startedAt,
  );
  const admin = service.endpoint({ name: 'admin', subject: adminSubject, metadata: { kind: 'admin', answered_by: 'the leading master' } });
  return { service, admin };
}
