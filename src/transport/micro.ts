/**
 * NATS service discovery ("micro", the `io.nats.micro.v1` protocol), so the tools other teams
 * already use (`nats micro ls`, `nats micro stats`, any NATS client) see a Shaddock server.
 *
 * A service answers requests on `$SRV.<VERB>`, `$SRV.<VERB>.<name>` and
 * `$SRV.<VERB>.<name>.<id>` for the verbs PING, INFO and STATS, with JSON documents of the types
 * `io.nats.micro.v1.ping_response`, `info_response` and `stats_response` (their JSON schemas are
 * published by NATS as https://nats.io/schemas/micro/v1/*.json). Written here rather than taken
 * from `@nats-io/services`, whose releases are pinned to another `@nats-io/nats-core` than ours
 * (two copies of the client core would load).
 *
 * Endpoints are only described and counted here: their requests arrive on subscriptions their
 * owners make (a server's RPC and handler subjects), which report each call with
 * {@link EndpointStats.record} once its promise has settled.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeJson } from './codec.ts';

/** Names of services and endpoints: one subject token of letters, digits, `_` and `-`. */
const NAME = /^[A-Za-z0-9_-]+$/;
/** Semantic versioning 2.0, as the schemas require of `version`. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Micro names are `[A-Za-z0-9_-]+`: anything else becomes `_`. */
export function microName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The app's package.json version, `0.0.0` without one (micro requires a semantic version). */
export function appVersion(base: string): string {
  try {
    const version = (JSON.parse(readFileSync(join(base, 'package.json'), 'utf8')) as { version?: unknown }).version;
    if (typeof version === 'string' && isSemver(version)) return version;
  } catch {
    // No package.json in the app directory: the default.
  }
  return '0.0.0';
}

/** Whether `version` is a semantic version, as the schemas require. */
export function isSemver(version: string): boolean {
  return SEMVER.test(version);
}

/** The verbs of the discovery protocol. */
export const MICRO_VERBS = ['PING', 'INFO', 'STATS'] as const;
export type MicroVerb = (typeof MICRO_VERBS)[number];

/** What a service says about itself. */
export interface MicroServiceConfig {
  /** The kind of service, shared by its instances: `[A-Za-z0-9_-]+`. */
  name: string;
  /** This instance, unique among the instances of `name`. */
  id: string;
  /** Semantic version. */
  version: string;
  description: string;
  metadata?: Record<string, string>;
}

/** One endpoint as INFO describes it. */
export interface MicroEndpointConfig {
  name: string;
  subject: string;
  queueGroup?: string;
  metadata?: Record<string, string>;
}

/** `$SRV.PING` reply. */
export interface PingResponse {
  type: 'io.nats.micro.v1.ping_response';
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

/** An endpoint in an INFO reply. */
export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group?: string;
  metadata: Record<string, string> | null;
}

/** `$SRV.INFO` reply. */
export interface InfoResponse extends Omit<PingResponse, 'type'> {
  type: 'io.nats.micro.v1.info_response';
  description: string;
  endpoints: EndpointInfo[];
}

/** An endpoint's counters in a STATS reply; times are integer nanoseconds. */
export interface EndpointStatsJson {
  name: string;
  subject: string;
  queue_group?: string;
  num_requests: number;
  num_errors: number;
  last_error: string;
  processing_time: number;
  average_processing_time: number;
}

/** `$SRV.STATS` reply. */
export interface StatsResponse extends Omit<PingResponse, 'type'> {
  type: 'io.nats.micro.v1.stats_response';
  /** When the service started, RFC 3339 in UTC. */
  started: string;
  endpoints: EndpointStatsJson[];
}

/**
 * `$SRV.<verb>`, `$SRV.<verb>.<name>` or `$SRV.<verb>.<name>.<id>`: the one builder of the
 * discovery subjects.
 *
 * @example
 * microSubject('INFO', 'shaddock-chat-connector', 'connector-1'); // '$SRV.INFO.shaddock-chat-connector.connector-1'
 */
export function microSubject(verb: MicroVerb, name?: string, id?: string): string {
  if (id !== undefined && name === undefined) throw new Error('microSubject: an id needs a name');
  return ['$SRV', verb, ...(name !== undefined ? [name] : []), ...(id !== undefined ? [id] : [])].join('.');
}

/** Throws naming `what` when `value` is not a valid service or endpoint name. */
export function checkMicroName(what: string, value: string): string {
  if (!NAME.test(value)) throw new Error(`${what} "${value}" must match ${NAME} (NATS micro names are one subject token)`);
  return value;
}

/** Counters of one endpoint. */
export class EndpointStats {
  private requests = 0;
  private errors = 0;
  private lastError = '';
  private nanos = 0;

  constructor(readonly config: MicroEndpointConfig) {
    checkMicroName('endpoint name', config.name);
    if (!config.subject) throw new Error(`endpoint "${config.name}": subject must not be empty`);
  }

  /** One request done: how long it took (ms, measured until its promise settled), and its error if it failed. */
  record(ms: number, error?: unknown): void {
    this.requests += 1;
    this.nanos += Math.round(ms * 1e6);
    if (error === undefined) return;
    this.errors += 1;
    this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }

  info(): EndpointInfo {
    const { name, subject, queueGroup, metadata } = this.config;
    return { name, subject, ...(queueGroup ? { queue_group: queueGroup } : {}), metadata: metadata ?? null };
  }

  stats(): EndpointStatsJson {
    const { name, subject, queueGroup } = this.config;
    return {
      name,
      subject,
      ...(queueGroup ? { queue_group: queueGroup } : {}),
      num_requests: this.requests,
      num_errors: this.errors,
      last_error: this.lastError,
      processing_time: this.nanos,
      average_processing_time: this.requests === 0 ? 0 : Math.round(this.nanos / this.requests),
    };
  }
}

/**
 * One NATS micro service instance on a connection: answers PING, INFO and STATS from `start()`
 * until `stop()`.
 *
 * @example
 * const service = new MicroService(nc, { name: 'shaddock-chat-chat', id: 'chat-server-1', version: '1.0.0', description: 'chat' });
 * const stats = service.endpoint({ name: 'remote-chatRemote', subject: 'shaddock.chat.rpc.chat-server-1' });
 * service.start();
 * stats.record(1.5); // one request of 1.5 ms
 */
export class MicroService {
  private readonly endpoints = new Map<string, EndpointStats>();
  private subscriptions: Subscription[] = [];
  private readonly started: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly config: MicroServiceConfig,
    startedAt = Date.now(),
  ) {
    checkMicroName('service name', config.name);
    if (!config.id) throw new Error('service id must not be empty');
    if (!isSemver(config.version)) throw new Error(`service version "${config.version}" is not a semantic version (x.y.z)`);
    for (const [key, value] of Object.entries(config.metadata ?? {})) {
      if (typeof value !== 'string') throw new Error(`service metadata "${key}" must be a string`);
    }
    this.started = new Date(startedAt).toISOString();
  }

  /** Adds an endpoint (or returns the one of that name) and its counters. */
  endpoint(config: MicroEndpointConfig): EndpointStats {
    let stats = this.endpoints.get(config.name);
    if (!stats) this.endpoints.set(config.name, (stats = new EndpointStats(config)));
    return stats;
  }

  /** The counters of an endpoint added before, by name. */
  stats(name: string): EndpointStats | undefined {
    return this.endpoints.get(name);
  }

  start(): void {
    const { name, id } = this.config;
    for (const verb of MICRO_VERBS) {
      for (const subject of [microSubject(verb), microSubject(verb, name), microSubject(verb, name, id)]) {
        this.subscriptions.push(
          this.nc.subscribe(subject, {
            callback: (error, msg) => {
              if (error || !msg.reply) return;
              try {
                msg.respond(encodeJson(this.reply(verb)));
              } catch {
                // Closing: nobody to answer.
              }
            },
          }),
        );
      }
    }
  }

  stop(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
  }

  ping(): PingResponse {
    const { name, id, version, metadata } = this.config;
    return { type: 'io.nats.micro.v1.ping_response', name, id, version, metadata: metadata ?? {} };
  }

  info(): InfoResponse {
    return { ...this.ping(), type: 'io.nats.micro.v1.info_response', description: this.config.description, endpoints: [...this.endpoints.values()].map((e) => e.info()) };
  }

  statsResponse(): StatsResponse {
    return { ...this.ping(), type: 'io.nats.micro.v1.stats_response', started: this.started, endpoints: [...this.endpoints.values()].map((e) => e.stats()) };
  }

  private reply(verb: MicroVerb): PingResponse | InfoResponse | StatsResponse {
    if (verb === 'PING') return this.ping();
    if (verb === 'INFO') return this.info();
    return this.statsResponse();
  }
}
