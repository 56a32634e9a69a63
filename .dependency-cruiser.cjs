/**
 * Import rules for `src`, checked by `npm run lint:imports` (and so by `npm test`):
 * `depcruise src --config .dependency-cruiser.cjs`. A violation prints the rule's name and the
 * import, `from → to`, and fails the run. docs/architecture.md ("What imports what") says why the
 * layers are cut this way.
 *
 * Paths are matched against folders (src/machines, src/transport, src/config, src/actors,
 * src/client), never against single files inside src/actors, so that the rules hold however
 * src/actors is laid out inside.
 *
 * Type-only imports count: `tsPreCompilationDeps: true` keeps `import type` and `export type`
 * in the graph, so a cycle or a layer breach made of types alone is still caught.
 */

/** The modules outside src/client that the browser-side client may use (bundled into /shaddock-client.js). */
const CLIENT_MAY_USE = [
  '^src/types\\.ts$', // app-facing types (Handlers); type-only, erased from the bundle
  '^src/transport/connector/protocol\\.ts$', // Pomelo's wire protocol, which the client speaks
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'No import cycle anywhere in src, whether its imports are static, dynamic (import()) or ' +
        'type-only. Break the cycle: move what both sides need into a module of its own, or hand ' +
        'the dependency in as a parameter.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'application-is-the-facade',
      comment:
        'Only the public entry (src/index.ts) and the app folder use the Application façade. The ' +
        'master and server runtimes get what they need from the app as an AppHost in their ' +
        'constructors (src/actors/app/host.ts), never by importing Application.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/index\\.ts$', '^src/actors/app/'] },
      to: { path: '^src/actors/app/application\\.ts$' },
    },
    {
      name: 'runtime-is-plumbing',
      comment:
        'src/actors/runtime (machine runner, timer wheel, clock, state watching) serves every other ' +
        'part of the runtime and knows none of them.',
      severity: 'error',
      from: { path: '^src/actors/runtime/' },
      to: { path: '^src/actors/', pathNot: '^src/actors/runtime/' },
    },
    {
      name: 'no-unresolvable',
      comment:
        'Every import in src resolves to a file or a package. An unresolved import would slip ' +
        'past every other rule, since they match on the resolved path.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'machines-import-only-xstate',
      comment:
        'src/machines holds pure state machines: it imports xstate and other files of ' +
        'src/machines, and nothing else (no Node built-ins, no NATS, no config, no actors).',
      severity: 'error',
      from: { path: '^src/machines/' },
      to: { pathNot: ['^src/machines/', '(^|/)node_modules/xstate/'] },
    },
    {
      name: 'transport-not-to-actors',
      comment:
        'src/transport is the wire layer under the actors: it never imports src/actors (the ' +
        'actors use the transport, not the other way round).',
      severity: 'error',
      from: { path: '^src/transport/' },
      to: { path: '^src/actors/' },
    },
    {
      name: 'config-imports-only-config-and-machines',
      comment:
        'src/config (loading and validating the cluster files) imports nothing else of src but ' +
        'src/machines: in particular never src/actors nor src/transport, which are built from ' +
        'the config. Node built-ins and npm packages (zod) are fine.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/config/', '^src/machines/'] },
    },
    {
      name: 'config-takes-only-types-from-machines',
      comment:
        'What src/config takes from src/machines is types (the supervisor restart policy it ' +
        'fills from master.json), with `import type`: loading the config never loads xstate or ' +
        'a machine.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/machines/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'client-self-contained',
      comment:
        'src/client (shaddock/client, shaddock/client/node) is the SDK apps ship to players: ' +
        'of the rest of src it uses only src/types.ts (types) and ' +
        'src/transport/connector/protocol.ts (the wire protocol). Never the actors, the config, ' +
        'NATS or the rest of the server.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: ['^src/client/', ...CLIENT_MAY_USE] },
    },
    {
      name: 'client-browser-side-browser-safe',
      comment:
        'Every file of src/client but node.ts is bundled for the browser (examples/chat/web-server.ts ' +
        'bundles src/client/index.ts): it imports only other browser-side client files and the ' +
        'modules in CLIENT_MAY_USE. No Node built-in, no npm package, no src/client/node.ts.',
      severity: 'error',
      from: { path: '^src/client/', pathNot: '^src/client/node\\.ts$' },
      to: { pathNot: ['^src/client/(?!node\\.ts$)', ...CLIENT_MAY_USE] },
    },
    {
      name: 'client-protocol-standalone',
      comment:
        'src/transport/connector/protocol.ts is bundled into the browser client too, so it ' +
        'imports nothing at all (no Node built-in such as Buffer or zlib, no package, no other ' +
        'module of src).',
      severity: 'error',
      from: { path: '^src/transport/connector/protocol\\.ts$' },
      to: {},
    },
  ],
  options: {
    // Keep type-only imports in the graph (see the top of this file).
    tsPreCompilationDeps: true,
    // Resolve the way tsc does, `.ts` extensions in import paths included.
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
