import { createSocket, type RemoteInfo } from "node:dgram";

/** Record types the test DNS server answers. */
export type DnsRecordType = "A" | "CNAME" | "TXT";
const TYPE_CODES: Record<DnsRecordType, number> = { A: 1, CNAME: 5, TXT: 16 };

export interface TestDnsServer {
  /** "127.0.0.1:<port>", as DNS_RESOLVERS takes it. */
  address: string;
  /** Replaces the records of one type at `name` (empty: removes them). */
  set(name: string, type: DnsRecordType, values: readonly string[]): void;
  /** Names the server never answers (the resolver times out). */
  silence(name: string): void;
  /** Every question asked so far, as "name TYPE". */
  readonly questions: string[];
  close(): Promise<void>;
}

function readName(buffer: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let offset = start;
  for (;;) {
    const length = buffer[offset];
    if (length === undefined) throw new Error("truncated question");
    if (length === 0) return { name: labels.join(".").toLowerCase(), end: offset + 1 };
    labels.push(buffer.toString("latin1", offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
}

function encodeName(name: string): Buffer {
  const parts = name.split(".").filter(Boolean);
  return Buffer.concat([
    ...parts.map((label) =>
      Buffer.concat([Buffer.from([label.length]), Buffer.from(label, "latin1")]),
    ),
    Buffer.from([0]),
  ]);
}

function rdata(type: DnsRecordType, value: string): Buffer {
  if (type === "A") return Buffer.from(value.split(".").map(Number));
  if (type === "CNAME") return encodeName(value);
  // TXT: character-strings of at most 255 bytes each.
  const bytes = Buffer.from(value, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    chunks.push(Buffer.from([chunk.length]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(chunks);
}

/**
 * A real DNS server on a loopback UDP port for tests: answers A, CNAME and
 * TXT questions from records the test sets, NXDOMAIN for names it holds
 * nothing for, an empty answer (NODATA) for a name without the asked type,
 * and nothing at all for silenced names. Point a resolver at `address`.
 *
 * @example
 * const dns = await startTestDnsServer();
 * dns.set("_minispod-challenge.shop.example.com", "TXT", [token]);
 * const resolver = createDomainResolver({ servers: [dns.address], timeoutMs: 500 });
 */
export async function startTestDnsServer(): Promise<TestDnsServer> {
  const records = new Map<string, Map<DnsRecordType, string[]>>();
  const silent = new Set<string>();
  const questions: string[] = [];
  const socket = createSocket("udp4");

  const answer = (query: Buffer, peer: RemoteInfo) => {
    if (query.length < 12) return;
    const { name, end } = readName(query, 12);
    const qtype = query.readUInt16BE(end);
    const type = (Object.keys(TYPE_CODES) as DnsRecordType[]).find((t) => TYPE_CODES[t] === qtype);
    questions.push(`${name} ${type ?? qtype}`);
    if (silent.has(name)) return;
    const held = records.get(name);
    const values = type ? (held?.get(type) ?? []) : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    const rd = (query[2] ?? 0) & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD as asked
    header[3] = 0x80 | (held ? 0 : 3); // RA; NXDOMAIN when the name holds nothing
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(values.length, 6);
    const question = query.subarray(12, end + 4);
    const answers = values.map((value) => {
      const data = rdata(type as DnsRecordType, value);
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      fixed.writeUInt16BE(qtype, 2);
      fixed.writeUInt16BE(1, 4); // IN
      fixed.writeUInt32BE(30, 6);
      fixed.writeUInt16BE(data.length, 10);
      return Buffer.concat([fixed, data]);
    });
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address);
  };

  socket.on("message", (message, peer) => {
    try {
      answer(message, peer);
    } catch {
      // A malformed question gets no answer, like from a real server.
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    questions,
    set(name, type, values) {
      const key = name.toLowerCase().replace(/\.$/, "");
      const held = records.get(key) ?? new Map<DnsRecordType, string[]>();
      if (values.length) held.set(type, [...values]);
      else held.delete(type);
      if (held.size) records.set(key, held);
      else records.delete(key);
    },
    silence(name) {
      silent.add(name.toLowerCase());
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
