// Starts PostGraphile 5 over node:http, with WORKERS processes (node:cluster) sharing the
// port, like `ledger serve --workers N`. Copied into bench/.node/ and run with Node 22.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const workers = Number(process.env.WORKERS || 1);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (w, code) => {
    console.error(`worker ${w.process.pid} exited (${code})`);
    process.exit(1);
  });
  const stop = () => {
    for (const id in cluster.workers) cluster.workers[id].kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.keepAliveTimeout = 65000;
  server.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  await serv.addTo(server);
  await pgl.getSchema(); // build the schema before accepting traffic
  server.listen(preset.grafserv.port, "127.0.0.1");
  console.log(`postgraphile ${process.pid} listening on ${preset.grafserv.port}`);
  const stop = async () => {
    server.close();
    await pgl.release();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
