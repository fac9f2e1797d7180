// Which folder may import which (`npm run check:deps`, run by .ci/run). Dependencies point one way, from
// the pipeline's start to its readers:
//   lib ← ingest ← transform ← models ← api ← dashboards | storefront
// A layer imports only the layers to its left; the two apps at the end do not import each other. bin/
// wires everything and nothing imports bin/ (tests and benchmarks may: they start the runtime).
// Type-only imports count too for the layers: a type from a later layer is still a dependency on it.

/** Left to right; folders in one entry are peers. */
const LAYERS = [['lib'], ['ingest'], ['transform'], ['models'], ['api'], ['dashboards', 'storefront']];
const RUNNERS = ['bin', 'tests', 'bench'];

const under = (folders) => `^(${folders.join('|')})/`;

const layerRules = LAYERS.flatMap((layer, i) =>
  layer.map((folder) => {
    const later = LAYERS.slice(i + 1).flat();
    const peers = layer.filter((f) => f !== folder);
    return {
      name: `${folder}-imports-only-earlier-layers`,
      comment: `${folder}/ may import ${LAYERS.slice(0, i).flat().join(', ') || 'no other layer'}; not ${[...peers, ...later, ...RUNNERS].join(', ')}.`,
      severity: 'error',
      from: { path: under([folder]) },
      to: { path: under([...peers, ...later, ...RUNNERS]) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'nothing-imports-bin',
      comment: 'bin/ wires everything; only tests and benchmarks start it.',
      severity: 'error',
      from: { pathNot: under(RUNNERS) },
      to: { path: under(['bin']) },
    },
    {
      name: 'routes-do-not-import-jobs',
      comment: 'A route reads what a model job wrote; what both need (names, types) lives in a module of its own.',
      severity: 'error',
      from: { path: '\\.routes\\.ts$|^api/' },
      to: { path: '\\.job\\.ts$' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle means two modules are one job split in two, or a layer is upside down. Cycles made only of ' +
        'type-only imports are allowed: a service record names the types of the modules that receive it ' +
        '(api/services.ts ⇄ the routes), and types are gone at run time.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dashboards/ui/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
  },
};
