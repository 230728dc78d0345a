// Baseline: bare node:http + jose + postgres.js (prepared statements, the
// driver's default) doing what GET /api/v1/auth/me and GET /api/v1/services
// do: verify the EdDSA token, one SELECT, the same response shape.
import { createServer } from "node:http";
import * as jose from "jose";
import postgres from "postgres";

const sql = postgres(process.env.DATABASE_URL, { max: 10, prepare: true });
const key = await jose.importSPKI(process.env.JWT_PUBLIC_KEY, "EdDSA");
const json = (res, status, value) => {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
};

async function me(req, res) {
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  if (!token) return json(res, 401, { title: "Unauthorized" });
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      issuer: "minispod",
      audience: "minispod-api",
    }));
  } catch {
    return json(res, 401, { title: "Invalid token" });
  }
  const [user] = await sql`select * from users where id = ${payload.sub}`;
  if (!user) return json(res, 401, { title: "Invalid token" });
  json(res, 200, {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    emailVerified: user.email_verified_at !== null,
    createdAt: user.created_at.toISOString(),
  });
}

async function services(_req, res) {
  const rows = await sql`select * from service_catalog where active = true
    order by created_at desc, id desc limit 21`;
  json(res, 200, {
    items: rows.slice(0, 20).map((row) => ({
      id: row.id,
      slug: row.slug,
      name: row.name,
      description: row.description,
      image: row.image,
      imageTag: row.image_tag,
      port: row.port,
      resources: {
        cpu: row.cpu,
        memory: row.memory,
        storage: row.storage,
        storageMountPath: row.storage_mount_path,
      },
      price: { amountMinor: row.price_minor, currency: row.currency, period: row.period },
      active: row.active,
      allowMultiple: row.allow_multiple,
      scaleToZero: row.scale_to_zero,
      retiredAt: row.retired_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    })),
    nextCursor: null,
  });
}

createServer((req, res) => {
  const route =
    req.url === "/api/v1/auth/me"
      ? me
      : req.url === "/api/v1/services"
        ? services
        : req.url === "/health/readiness"
          ? async () => json(res, 200, { status: "ok" })
          : undefined;
  if (!route) return json(res, 404, { title: "Not Found" });
  route(req, res).catch(() => json(res, 500, { title: "Internal Server Error" }));
}).listen(Number(process.env.PORT), "127.0.0.1");
