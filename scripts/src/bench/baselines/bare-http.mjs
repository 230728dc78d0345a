// Baseline: bare node:http answering the same JSON as /health/liveness.
// Also answers /health/readiness, so cold start can be timed the same way.
import { createServer } from "node:http";

const body = JSON.stringify({ status: "ok" });
createServer((req, res) => {
  if (req.url === "/health/liveness" || req.url === "/health/readiness") {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  res.writeHead(404).end();
}).listen(Number(process.env.PORT), "127.0.0.1");
