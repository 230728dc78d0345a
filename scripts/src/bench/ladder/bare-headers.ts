// Ladder step: bare node:http answering liveness with the same response head a
// function sends (security headers and a fresh x-request-id), nothing else.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { SECURITY_HEADERS } from "../../../../shared/src/security-headers";

const body = JSON.stringify({ status: "ok" });
const head = SECURITY_HEADERS.flat();
createServer((_req, res) => {
  res.writeHead(200, [
    ...head,
    "x-request-id",
    randomUUID(),
    "content-type",
    "application/json",
    "content-length",
    String(Buffer.byteLength(body)),
  ]);
  res.end(body);
}).listen(Number(process.env.PORT), "127.0.0.1");
