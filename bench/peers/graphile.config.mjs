// PostGraphile 5 preset for the benchmark peer (copied into bench/.node/ at run time so
// its imports resolve against the packages installed there). Production-like: no GraphiQL,
// no watch mode, no explain, mutations off (the peer only answers the read scenarios).
// PgIndexBehaviorsPlugin is off so every column can be used in `condition`/`orderBy`
// (the BI query filters measurements on superseded_at, which only a partial index covers).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  disablePlugins: [
    "PgMutationCreatePlugin",
    "PgMutationUpdateDeletePlugin",
    "PgIndexBehaviorsPlugin",
  ],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PG_POOL_MAX || 10) },
    }),
  ],
  grafserv: {
    port: Number(process.env.PORT || 5678),
    host: "127.0.0.1",
    graphiql: false,
    watch: false,
    graphqlPath: "/graphql",
  },
  grafast: { explain: false },
};

export default preset;
